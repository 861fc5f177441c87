"""Sync with Subsonic media servers: stored accounts, songs mapped to tracks, history pulled, playlists pushed."""
