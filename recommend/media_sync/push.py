"""Soundalike's playlists on a media server: named ``Soundalike · ...``, made once, then replaced in place.

Only playlists Soundalike made (their server ids are kept in ``MediaServerPlaylist``) are ever changed, so a
user's own playlists, even one of the same name, are never touched. A playlist whose songs are already those
on the server is left alone, so a second sync changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from soundalike.ingest.db.models import MediaServerAccount, MediaServerPlaylist
from soundalike.recommend.media_sync.client import SubsonicClient

PREFIX = "Soundalike · "


@dataclass(frozen=True)
class Pushed:
    """``created``, ``updated`` or ``unchanged``, with the server's playlist id."""

    outcome: str
    playlist_id: str


def playlist_name(title: str) -> str:
    """The server name of a Soundalike playlist called ``title``."""
    return title if title.startswith(PREFIX) else PREFIX + title


def push_playlist(
    session: Session, client: SubsonicClient, account: MediaServerAccount, title: str, song_ids: list[str]
) -> Pushed:
    """Make or update the account's playlist ``title`` to hold exactly ``song_ids``."""
    name = playlist_name(title)
    stored = session.scalars(
        select(MediaServerPlaylist).where(
            MediaServerPlaylist.account_id == account.id, MediaServerPlaylist.name == name
        )
    ).one_or_none()
    if stored is not None and stored.playlist_id in {p.id for p in client.playlists()}:
        if client.playlist_songs(stored.playlist_id) == song_ids:
            return Pushed("unchanged", stored.playlist_id)
        client.replace_playlist(stored.playlist_id, song_ids)
        return Pushed("updated", stored.playlist_id)
    playlist_id = client.create_playlist(name, song_ids)
    if stored is None:
        stored = MediaServerPlaylist(account_id=account.id, name=name, playlist_id=playlist_id)
    stored.playlist_id = playlist_id
    session.add(stored)
    session.flush()
    return Pushed("created", playlist_id)
