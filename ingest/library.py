"""Whether a catalogued file is still the library file ingest stored, checked when someone is about to read it.

Between an ingest and a read the file can be replaced, say by a symlink to ``/etc/passwd``. A file is the
library's only when its real path (symlinks resolved) lies under a folder some ingest was given, unless
symlinks out of those folders are followed (``settings.follow_symlinks``), and when it has the size ingest
saw and the same mtime or, failing that, the same content hash (the rule by which ingest skips an
unchanged file).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from soundalike.ingest.db.models import IngestRun, Track
from soundalike.ingest.errors import NotFoundError
from soundalike.ingest.hashing import content_hash
from soundalike.ingest.paths import absolute_path, from_db_path, to_db_path
from soundalike.ingest.repository import track_by_path
from soundalike.ingest.scan import lies_under, real_path


def ingested_roots(session: Session) -> list[Path]:
    """The real paths of every file or folder an ingest was given."""
    roots = {root for joined in session.scalars(select(IngestRun.roots).distinct()) for root in split_roots(joined)}
    return [real_path(from_db_path(root)) for root in sorted(roots)]


def split_roots(joined: str) -> list[str]:
    """The absolute paths an ingest run stored joined by the path separator; a piece that is not absolute
    belongs to the path before it (a folder name with a ``:``)."""
    roots: list[str] = []
    for piece in joined.split(os.pathsep):
        if roots and not Path(piece).is_absolute():
            roots[-1] += os.pathsep + piece
        elif Path(piece).is_absolute():
            roots.append(piece)
    return roots


def library_file(session: Session, track: Track, *, follow_symlinks: bool) -> tuple[Path, os.stat_result]:
    """The real path and status of ``track``'s file when it is still the file ingest stored; NotFoundError
    saying why not (gone, out of the ingested folders, or changed since)."""
    real = real_path(from_db_path(track.path))
    if not follow_symlinks and not lies_under(real, ingested_roots(session)):
        raise NotFoundError(f"track {track.id} has no playable file: it leads out of the ingested folders")
    try:
        info = real.stat()
    except OSError:
        raise NotFoundError(f"track {track.id} has no playable file: it is gone") from None
    if not stat.S_ISREG(info.st_mode):
        raise NotFoundError(f"track {track.id} has no playable file: it is not a regular file")
    if info.st_size != track.size or (info.st_mtime != track.mtime and not _same_content(real, track.content_hash)):
        raise NotFoundError(f"track {track.id} has no playable file: it changed since it was ingested")
    return real, info


def catalogued_track(session: Session, path: Path) -> int | None:
    """The id of the playable track ingest stored from ``path`` when the file is still the one it read (the size it
    saw, and its mtime or content hash); None for a file the catalogue does not hold as it is now."""
    track = track_by_path(session, to_db_path(absolute_path(path)))
    if track is None or track.status != "ok":
        return None
    try:
        library_file(session, track, follow_symlinks=True)
    except NotFoundError:
        return None
    return track.id


def _same_content(path: Path, expected: str | None) -> bool:
    try:
        return expected is not None and content_hash(path) == expected
    except OSError:
        return False
