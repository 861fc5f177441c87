"""Stage 4: similar tracks and personalised playlists."""
