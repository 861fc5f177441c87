"""Genre labels from a CSV (path,genre): stored as track genres with source ``label``, one per track."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from soundalike.ingest.errors import InputError
from soundalike.ingest.history import resolve_track
from soundalike.ingest.repository import clear_track_genres, set_track_genre
from soundalike.ingest.rows import RowReport, import_rows

LABEL_COLUMNS = (("path",), ("genre",))


def import_labels(session: Session, path: Path) -> RowReport:
    """Label the track at ``path`` (absolute or relative to the CSV) with ``genre``, as written, for each row;
    a new label replaces the track's earlier one. Bad rows are reported as ``import_rows`` says."""
    base = path.parent.absolute()

    def store(row: dict[str, object]) -> bool:
        genre = str(row.get("genre") or "").strip()
        if not genre:
            raise InputError("genre is missing")
        track_id = resolve_track(session, row.get("path"), base)
        clear_track_genres(session, track_id, source="label")
        set_track_genre(session, track_id, genre, source="label")
        return True

    return import_rows(path, store, required=LABEL_COLUMNS)
