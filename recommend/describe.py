"""Tracks found by a description in words ("mellow guitar"), ranked by how strongly they carry the named moods."""

from __future__ import annotations

import numpy as np

from soundalike.ingest.errors import InputError
from soundalike.recommend.moods import describe_terms
from soundalike.recommend.results import Result, Why, result_of
from soundalike.recommend.similar import Options
from soundalike.recommend.track_table import TrackTable


def described(table: TrackTable, text: str, k: int, options: Options | None = None) -> list[Result]:
    """The ``k`` playable tracks passing the filters that score highest on the moods ``text`` names (mean
    percentile, ``MoodTable.score``), one per audio (duplicates left out), at most ``artist_cap`` per named artist;
    tracks without tag probabilities are not ranked. A word naming no mood is an InputError."""
    if k < 1:
        raise InputError(f"k must be >= 1, got {k}")
    options = options or Options()
    terms = describe_terms(text)
    rows = np.flatnonzero(table.accepts(options.filters, np.arange(len(table), dtype=np.int64)))
    scores = table.moods.score(terms, rows)
    order = np.argsort(-scores, kind="stable")
    rows, scores = rows[order], scores[order]
    picked: list[tuple[int, float]] = []
    seen: set[int] = set()
    per_artist: dict[str | None, int] = {}
    for row, score in zip(rows.tolist(), scores.tolist(), strict=True):
        if len(picked) == k or score <= 0:
            break
        audio, artist = int(table.canonical_ids[row]), table.artist[row]
        capped = (
            options.artist_cap is not None and artist is not None and per_artist.get(artist, 0) >= options.artist_cap
        )
        if audio in seen or capped:
            continue
        seen.add(audio)
        per_artist[artist] = per_artist.get(artist, 0) + 1
        picked.append((int(table.ids[row]), score))
    facts = table.facts(t for t, _ in picked)
    why = Why(basis="described as " + ", ".join(terms))
    return [result_of(facts[t], score, why) for t, score in picked]
