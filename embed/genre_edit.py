"""Renaming, merging and deleting a genre, with a preview of what each does to labels, curator decisions,
predictions and tags before anything changes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from soundalike.ingest.db.models import Genre, GenreDecision, TrackGenre
from soundalike.ingest.errors import InputError, NotFoundError
from soundalike.ingest.names import MAX_GENRE_NAME, check_name
from soundalike.ingest.repository import find_genre


@dataclass(frozen=True)
class GenreChange:
    """What renaming ``genre`` to ``into`` (a merge when ``into`` exists), or deleting it (``into`` None), does:
    rows per source, how many tracks, and how many rows fold into a row the target genre already has."""

    genre: str
    into: str | None
    merge: bool
    rows: dict[str, int] = field(default_factory=dict)
    tracks: int = 0
    folded: int = 0

    @property
    def summary(self) -> str:
        """The change in one sentence, for the curator to confirm."""
        counts = ", ".join(f"{n} {source}" for source, n in sorted(self.rows.items())) or "no rows"
        if self.into is None:
            return (
                f"deletes {self.genre!r} from {self.tracks} tracks ({counts}); the genre model keeps the class "
                "until it is retrained"
            )
        verb = "merges" if self.merge else "renames"
        fold = (
            f"; {self.folded} rows the tracks already have under {self.into!r} are kept instead" if self.folded else ""
        )
        return f"{verb} {self.genre!r} into {self.into!r} on {self.tracks} tracks ({counts}){fold}"


def _rows(session: Session, genre_id: int) -> list[TrackGenre]:
    return list(session.scalars(select(TrackGenre).where(TrackGenre.genre_id == genre_id)))


def plan_genre_change(session: Session, genre: str, into: str | None) -> GenreChange:
    """The preview of renaming or merging ``genre`` into ``into``, or of deleting it when ``into`` is None;
    NotFoundError for an unknown genre, InputError for a bad or identical new name."""
    return _plan(session, genre, into)[0]


def _plan(session: Session, genre: str, into: str | None) -> tuple[GenreChange, Genre, Genre | None]:
    found = find_genre(session, genre)
    if found is None:
        raise NotFoundError(f"no genre {genre!r}")
    rows = _rows(session, found.id)
    counts = dict(Counter(r.source + (" rejected" if r.rejected else "") for r in rows))
    tracks = len({r.track_id for r in rows})
    if into is None:
        return GenreChange(found.name, None, False, counts, tracks), found, None
    name = check_name(into, what="genre", max_length=MAX_GENRE_NAME)
    target = find_genre(session, name)
    if target is not None and target.id == found.id and target.name == name:
        raise InputError(f"{genre!r} is already called {name!r}")
    if target is None or target.id == found.id:
        return GenreChange(found.name, name, False, counts, tracks), found, None
    held = {(r.track_id, r.source) for r in _rows(session, target.id)}
    folded = sum((r.track_id, r.source) in held for r in rows)
    return GenreChange(found.name, target.name, True, counts, tracks, folded), found, target


def apply_genre_change(session: Session, genre: str, into: str | None) -> tuple[GenreChange, list[int]]:
    """Carry out ``plan_genre_change`` (not committed); returns it and the tracks whose genres changed."""
    change, source, target = _plan(session, genre, into)
    rows = _rows(session, source.id)
    touched = sorted({r.track_id for r in rows})
    if change.into is None:
        session.execute(delete(TrackGenre).where(TrackGenre.genre_id == source.id))
        session.execute(delete(GenreDecision).where(GenreDecision.genre == source.name))
        session.delete(source)
    elif not change.merge:
        session.execute(update(GenreDecision).where(GenreDecision.genre == source.name).values(genre=change.into))
        source.name = change.into
    elif target is not None:
        held = {(r.track_id, r.source) for r in _rows(session, target.id)}
        for row in rows:
            if (row.track_id, row.source) in held:
                session.delete(row)
            else:
                row.genre_id = target.id
        session.execute(update(GenreDecision).where(GenreDecision.genre == source.name).values(genre=target.name))
        session.flush()
        session.delete(source)
    session.flush()
    return change, touched


def genre_counts(session: Session) -> list[tuple[str, dict[str, int]]]:
    """Every genre with how many rows each source gives it (rejected ones apart), by name."""
    counts: dict[str, Counter[str]] = {name: Counter() for name in session.scalars(select(Genre.name))}
    rows = session.execute(
        select(Genre.name, TrackGenre.source, TrackGenre.rejected).join(Genre, Genre.id == TrackGenre.genre_id)
    )
    for name, source, rejected in rows:
        counts[name][source + (" rejected" if rejected else "")] += 1
    return [(name, dict(counts[name])) for name in sorted(counts, key=str.casefold)]
