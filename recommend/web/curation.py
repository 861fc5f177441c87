"""What a curator sees of genres: each genre with where it came from, a weak prediction as a suggestion only,
near matches of a new name, and a track's decisions with which of them can still be undone."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from soundalike.ingest.db.models import GenreDecision

SUGGESTION_BELOW = 0.5
"""A prediction less confident than this is shown as a suggestion, not as the track's genre."""
SOURCE_RANK = {"curator": 0, "label": 1, "tag": 2, "predicted": 3}
"""Which source's word on a genre is shown when several give the same one."""
NEAR_MATCHES = 5
NEAR_CUTOFF = 0.6


@dataclass(frozen=True)
class ShownGenre:
    """A genre as the catalogue shows it: ``kind`` is its source, or ``suggestion`` for a weak prediction."""

    name: str
    kind: str
    confidence: float | None


def shown_genres(rows: Iterable[Mapping[str, object]], *, threshold: float = SUGGESTION_BELOW) -> list[ShownGenre]:
    """The genres a track carries, each by the surest source that gives it (curator, label, tag, prediction);
    rejected ones are left out, and a prediction below ``threshold`` is only a suggestion."""
    rows = list(rows)
    rejected = {r["genre"] for r in rows if r["rejected"]}
    shown: dict[str, ShownGenre] = {}
    for r in sorted(rows, key=lambda r: SOURCE_RANK.get(str(r["source"]), len(SOURCE_RANK))):
        name, source, confidence = str(r["genre"]), str(r["source"]), r["confidence"]
        if name in rejected or name in shown:
            continue
        weak = source == "predicted" and (confidence is None or float(confidence) < threshold)  # type: ignore[arg-type]
        kind = "suggestion" if weak else source
        shown[name] = ShownGenre(name, kind, None if confidence is None else float(confidence))  # type: ignore[arg-type]
    return sorted(shown.values(), key=lambda g: (g.kind == "suggestion", g.name))


def near_matches(name: str, known: Iterable[str]) -> list[str]:
    """Known genres spelt like ``name`` (a typo or another case of an existing genre), closest first."""
    known = list(known)
    by_key = {k.casefold(): k for k in known}
    found = difflib.get_close_matches(name.casefold(), list(by_key), n=NEAR_MATCHES, cutoff=NEAR_CUTOFF)
    return [by_key[f] for f in found]


def undoable(history: list[GenreDecision]) -> set[int]:
    """Ids of the decisions that can be undone: per genre, the latest one not undone (history newest first)."""
    latest: dict[str, int] = {}
    for decision in history:
        if decision.undone_at is None and decision.genre not in latest:
            latest[decision.genre] = decision.id
    return set(latest.values())
