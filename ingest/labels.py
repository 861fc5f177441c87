"""Genre labels from a CSV (path,genre): stored as track genres with source ``label``, one per track."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from soundalike.ingest.errors import InputError
from soundalike.ingest.history import resolve_track
from soundalike.ingest.repository import clear_track_genres, set_track_genre
from soundalike.ingest.rows import read_rows

LABEL_COLUMNS = (("path",), ("genre",))


@dataclass
class LabelReport:
    """Outcome of one label import."""

    imported: int = 0
    errors: list[dict[str, object]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"imported": self.imported, "errors": self.errors}


def import_labels(session: Session, path: Path) -> LabelReport:
    """Label the track at ``path`` (absolute or relative to the CSV) with ``genre``, as written, for each row;
    a new label replaces the track's earlier one."""
    report = LabelReport()
    base = path.parent.absolute()
    for line, row in read_rows(path, required=LABEL_COLUMNS):
        try:
            if isinstance(row, str):
                raise InputError(row)
            genre = str(row.get("genre") or "").strip()
            if not genre:
                raise InputError("genre is missing")
            track_id = resolve_track(session, row.get("path"), base)
            clear_track_genres(session, track_id, source="label")
            set_track_genre(session, track_id, genre, source="label")
        except InputError as exc:
            report.errors.append({"line": line, "reason": str(exc)})
            continue
        report.imported += 1
    return report
