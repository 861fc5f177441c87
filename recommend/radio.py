"""A radio's steering, pure: what a skip weighs, how candidates score against what was played and skipped, spacing.

Relevance of a candidate with unit vector ``c``, given the positives ``p`` (seeds and tracks played through) and
the skipped tracks ``s_j`` with weights ``w_j``::

    relevance(c) = max_i c·p_i - skip_penalty * max_j w_j * max(0, c·s_j)

A skip early in a track weighs more than one near its end (``skip_weight``). The pick is MMR (``ranking.select``)
against the tracks already served, no track twice, no artist within ``ARTIST_GAP`` served tracks and no album
within ``ALBUM_GAP`` unless every spaced track scores far below the best (``pick``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np

from soundalike.recommend.ranking import Candidate, select

SKIP_PENALTY = 1.0
ARTIST_GAP = 3
ALBUM_GAP = 5
DIVERSITY = 0.2
SPACING_SLACK = 0.25
MAX_POSITIVES = 32
HISTORY_SKIP_WEIGHT = 0.5
"""A skip from the listener's history outside this radio counts half as much as one in it."""


@dataclass
class Steering:
    """What a radio has learnt: its seeds, the tracks played through, skips with their weights, and every track
    served, in order."""

    seeds: list[int]
    played: list[int] = field(default_factory=list)
    skips: dict[int, float] = field(default_factory=dict)
    served: list[int] = field(default_factory=list)

    def positives(self) -> list[int]:
        """The tracks searched for candidates: the seeds and the latest plays, at most ``MAX_POSITIVES``."""
        half = MAX_POSITIVES // 2
        seeds = self.seeds[:half]
        return list(dict.fromkeys(seeds + self.played[-(MAX_POSITIVES - len(seeds)) :]))


def skip_weight(position_s: float, duration_s: float | None) -> float:
    """How much a skip counts against its track: ``1 - position / duration`` within [0, 1]; 1 when the duration
    is unknown (a skip is taken at face value)."""
    if duration_s is None or duration_s <= 0:
        return 1.0
    return float(min(1.0, max(0.0, 1.0 - position_s / duration_s)))


def relevance(
    vectors: np.ndarray,
    positives: np.ndarray,
    skipped: np.ndarray,
    skip_weights: np.ndarray,
    *,
    skip_penalty: float = SKIP_PENALTY,
) -> np.ndarray:
    """The relevance of each unit row of ``vectors``, by the formula above."""
    score = (vectors @ positives.T).max(axis=1)
    if len(skipped):
        against = np.maximum(vectors @ skipped.T, 0.0) * skip_weights[None, :]
        score = score - skip_penalty * against.max(axis=1)
    return score


def pick(
    candidates: Sequence[Candidate],
    vectors: np.ndarray,
    n: int,
    *,
    recent: Sequence[tuple[str | None, str | None]],
    before: np.ndarray,
    taken: Collection[int],
    diversity: float = DIVERSITY,
    slack: float = SPACING_SLACK,
) -> list[int]:
    """Positions of the next ``n`` candidates, one at a time: MMR against ``before`` (unit rows of the tracks
    served) and the picks so far, none whose canonical audio is ``taken``, spaced from the ``recent`` (artist,
    album) pairs served (latest last). Spacing narrows to "not the artist or album just played", then gives way,
    when every spaced candidate scores more than ``slack`` below the best one: a skip-steered radio does not leave
    the listener's style for the sake of spacing. A near
    duplicate of a track served (``ranking.NEAR_DUPLICATE_COSINE``) never comes."""
    recent = list(recent)
    audio = set(taken)
    shown = before
    picked: list[int] = []
    for _ in range(n):
        alive = [i for i, c in enumerate(candidates) if (c.canonical or c.track_id) not in audio and i not in picked]
        if not alive:
            break
        top = max(candidates[i].relevance for i in alive)
        close = [i for i in alive if candidates[i].relevance >= top - slack]
        best = None
        for artist_gap, album_gap in ((ARTIST_GAP, ALBUM_GAP), (1, 1)):
            artists = {a for a, _ in recent[len(recent) - artist_gap :] if a}
            albums = {b for _, b in recent[len(recent) - album_gap :] if b}
            spaced = [i for i in close if candidates[i].artist not in artists and candidates[i].album not in albums]
            best = _best(candidates, vectors, spaced, shown, diversity)
            if best is not None:
                break
        if best is None:
            best = _best(candidates, vectors, alive, shown, diversity)
        if best is None:
            break
        picked.append(best)
        c = candidates[best]
        audio.add(c.canonical or c.track_id)
        recent.append((c.artist, c.album))
        shown = np.vstack([shown, vectors[best : best + 1]])
    return picked


def _best(
    candidates: Sequence[Candidate], vectors: np.ndarray, among: list[int], shown: np.ndarray, diversity: float
) -> int | None:
    if not among:
        return None
    chosen = select([candidates[i] for i in among], vectors[among], 1, diversity=diversity, before=shown)
    return among[chosen[0]] if chosen else None
