"""How a media server names our songs: its song ids resolved to ours, and the facts its song entries show.

A media server (Navidrome, Jellyfin) does not know our integer track ids. It knows a song's MusicBrainz
recording id and its file path, as the server sees it: under its own library root (``/music/...``) or
relative to it (``Artist/Album/01.flac``). ``PathMap`` pairs each of our library roots with the server's
root for the same folder (``SOUNDALIKE_SUBSONIC_PATH_MAP``, e.g. ``/srv/music=/music``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from soundalike.ingest.db.models import MAX_ID, Track
from soundalike.ingest.errors import ConfigError, NotFoundError
from soundalike.ingest.tags import parse_mbid


def _under(path: str, root: str) -> str | None:
    """``path`` relative to ``root`` ('' for the root itself), or None when it lies elsewhere."""
    if path == root:
        return ""
    prefix = root.rstrip("/") + "/"
    return path[len(prefix) :] if path.startswith(prefix) else None


def _join(root: str, relative: str) -> str:
    return root.rstrip("/") + "/" + relative if relative else root


@dataclass(frozen=True)
class PathMap:
    """Pairs of (our library root, the media server's root for the same folder)."""

    pairs: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, text: str) -> PathMap:
        """``OURS=THEIRS`` pairs separated by the path separator (``:``); ConfigError when one is malformed."""
        pairs = []
        for item in (part.strip() for part in text.split(os.pathsep)):
            if not item:
                continue
            ours, sep, theirs = item.partition("=")
            if not sep or not ours.startswith("/") or not theirs.startswith("/"):
                raise ConfigError(
                    f"SOUNDALIKE_SUBSONIC_PATH_MAP entry {item!r} is not OUR_ROOT=SERVER_ROOT with two absolute paths"
                )
            pairs.append((ours.rstrip("/") or "/", theirs.rstrip("/") or "/"))
        return cls(tuple(pairs))

    def ours(self, path: str) -> list[str]:
        """Where a server's path may lie in our catalogue: mapped from an absolute server path, joined to each of
        our roots when relative, and the path itself when absolute (a server that shares our view of the disk)."""
        if not path.startswith("/"):
            return [_join(ours, path.removeprefix("./")) for ours, _ in self.pairs]
        mapped = [_join(ours, rest) for ours, theirs in self.pairs if (rest := _under(path, theirs)) is not None]
        return [*mapped, path]

    def relative(self, path: str) -> str | None:
        """Our path relative to the first of our roots that holds it (how MPD names a song: relative to its
        music_directory), or None outside every root."""
        for ours, _ in self.pairs:
            rest = _under(path, ours)
            if rest:
                return rest
        return None

    def theirs(self, path: str) -> str:
        """Our path as the media server sees it (unchanged outside every mapped root)."""
        for ours, theirs in self.pairs:
            rest = _under(path, ours)
            if rest is not None:
                return _join(theirs, rest)
        return path


@dataclass(frozen=True)
class SongFacts:
    """What a song entry shows beyond the ranking facts: its length and MusicBrainz recording id."""

    duration: float | None
    musicbrainz_id: str | None


def resolve_song(session: Session, song_id: str, path_map: PathMap) -> int:
    """Our track id for a media server's song id: our own integer id, a MusicBrainz recording id or a file path.

    A recording id or path shared by duplicate files resolves to the original; deleted tracks are not matched.
    NotFoundError when nothing matches.
    """
    text = song_id.strip()
    if text.isascii() and text.isdigit():
        value = int(text)
        if value > MAX_ID:
            raise NotFoundError(f"no song with id {text}")
        return value
    playable = (Track.status != "deleted",)
    mbid = parse_mbid(text)
    if mbid is not None:
        where = (Track.musicbrainz_track_id == mbid, *playable)
        what = f"MusicBrainz recording id {mbid}"
    else:
        where = (Track.path.in_(path_map.ours(text)), *playable)
        what = f"path {text!r}"
    found = session.scalars(
        select(Track.id).where(*where).order_by(Track.duplicate_of_id.is_not(None), Track.id).limit(1)
    ).first()
    if found is None:
        raise NotFoundError(f"no song with {what}")
    return found


def song_facts(session: Session, track_ids: list[int]) -> dict[int, SongFacts]:
    """Duration and MusicBrainz recording id of each of these tracks."""
    if not track_ids:
        return {}
    rows = session.execute(select(Track.id, Track.duration, Track.musicbrainz_track_id).where(Track.id.in_(track_ids)))
    return {tid: SongFacts(duration, mbid) for tid, duration, mbid in rows}
