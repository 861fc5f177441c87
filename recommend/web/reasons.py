"""Reasons and scores in a listener's words: tracks by title and artist, interests named by what dominates them,
closeness as a word and a bar rather than a signed decimal."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from soundalike.recommend.results import TEMPO_CLOSE_BPM, Result, Why, leading_aspects
from soundalike.recommend.track_table import NO_TRACK, TrackTable

ANCHORED = {
    "close to your history track": "like {name}",
    "like seed": "like {name}",
    "path from": "on the way from {name}",
}
CLOSENESS = ((0.9, "very close"), (0.75, "close"), (0.5, "related"), (0.25, "loosely related"), (0.0, "distant"))
TEMPO_BANDS = ((0.0, "slow"), (90.0, "moderate"), (120.0, "upbeat"), (150.0, "fast"))
DOMINANT_SHARE = 0.5


@dataclass(frozen=True)
class Reason:
    """Why a track was chosen, in words: ``anchor`` is the title (and artist) it is like, set in italics."""

    lead: str
    anchor: str | None
    after: str
    details: str


def track_label(table: TrackTable, track_id: int) -> str:
    """A track as a listener knows it: its title (else its file name) and artist."""
    facts = table.facts([track_id]).get(track_id)
    if facts is None:
        return "a track no longer in the catalogue"
    title = facts.title or facts.path.rsplit("/", 1)[-1]
    return f"{title} by {facts.artist}" if facts.artist else title


def times(n: int) -> str:
    """A play count in words."""
    return "once" if n == 1 else "twice" if n == 2 else f"{n} times"


def reason(why: Why | None, table: TrackTable, plays: Mapping[int, int]) -> Reason | None:
    """The reason for a result: the track it is like by name (with how often the listener played it), then what
    they share; never a bare track id."""
    if why is None:
        return None
    lead, anchor, after = why.basis, None, ""
    if why.anchor_track_id is not None:
        lead = ANCHORED.get(why.basis, why.basis + " {name}").split("{name}")[0]
        anchor = track_label(table, why.anchor_track_id)
        played = plays.get(why.anchor_track_id, 0)
        after = f", which you played {times(played)}" if played else ""
    details = []
    leading = leading_aspects(why.aspects)
    if leading:
        details.append("mostly the " + " and ".join(leading))
    if why.shared_genres:
        details.append("both " + ", ".join(why.shared_genres))
    if why.tempo_delta is not None and abs(why.tempo_delta) <= TEMPO_CLOSE_BPM:
        apart = round(abs(why.tempo_delta))
        details.append("same tempo" if apart == 0 else f"tempo {apart} bpm apart")
    if why.same_key:
        details.append("same key")
    return Reason(lead.rstrip(), anchor, after, "; ".join(details))


def closeness(score: float) -> str:
    """How close a score (a cosine, at most 1) is, in a word."""
    return next(word for floor, word in CLOSENESS if score >= floor) if score >= 0 else "distant"


def tempo_band(tempo: float) -> str:
    """A tempo in words."""
    return [word for floor, word in TEMPO_BANDS if tempo >= floor][-1]


def dominant(values: Iterable[str]) -> str | None:
    """The value that at least half of ``values`` share, if any."""
    counts = Counter(values)
    total = sum(counts.values())
    if not counts:
        return None
    value, n = counts.most_common(1)[0]
    return value if n >= DOMINANT_SHARE * total else None


def interest_name(table: TrackTable, members: Iterable[int]) -> str:
    """An interest named from what dominates its tracks: genre, mood and tempo ("upbeat calm beat")."""
    rows = [r for r in table.rows(list(members)).tolist() if r != NO_TRACK]
    genre = dominant(g for r in rows for g in table.genres[r])
    mood = dominant(m for r in rows for m in table.moods.of_row(r))
    tempos = [float(table.tempo[r]) for r in rows if table.tempo[r] == table.tempo[r]]
    tempo = dominant(tempo_band(t) for t in tempos)
    words = [w for w in (tempo, mood, genre) if w]
    return " ".join(words) if words else "mixed"


def results_reasons(results: Iterable[Result], table: TrackTable, plays: Mapping[int, int]) -> dict[int, Reason]:
    """The reason of each result by track id."""
    return {r.track_id: found for r in results if (found := reason(r.why, table, plays)) is not None}
