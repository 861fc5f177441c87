"""Simulated listeners with known tastes: the groups of the catalogue they like, a played history, held-out tracks.

A listener likes some groups (albums, genres or folders); a random part of those groups' tracks is held out
and the rest is their history, played one to three times per track. Playlist evaluation and the demo both
make their listeners here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from soundalike.ingest.errors import InputError
from soundalike.recommend.facts import TrackFacts

MIN_GROUP_TRACKS = 4
"""Random tastes are drawn only among groups this large, so that both history and held-out part are real."""


@dataclass(frozen=True)
class Listener:
    """A simulated listener: the groups they like, their played history and held-out tracks."""

    name: str
    groups: tuple[str, ...]
    history: list[int]
    held_out: set[int]


def track_groups(tracks: list[TrackFacts], group_by: str) -> dict[str, list[int]]:
    """Track ids per album, or per genre (a track belongs to each of its genres)."""
    groups: dict[str, list[int]] = {}
    for t in tracks:
        for key in sorted(t.genres) if group_by == "genre" else [t.album] if t.album else []:
            groups.setdefault(key, []).append(t.track_id)
    return groups


def listener_liking(
    name: str, liked: tuple[str, ...], groups: dict[str, list[int]], *, hold_out: float, rng: np.random.Generator
) -> Listener:
    """A listener liking the ``liked`` groups: ``hold_out`` of their tracks held out (at least one), the rest played."""
    if not 0.0 < hold_out < 1.0:
        raise InputError(f"hold_out must be within (0, 1), got {hold_out}")
    tracks = sorted({t for g in liked for t in groups[g]})
    order = rng.permutation(tracks)
    cut = max(1, int(round(len(order) * hold_out)))
    return Listener(name, liked, [int(t) for t in order[cut:]], set(map(int, order[:cut])))


def simulate_listeners(
    tracks: list[TrackFacts], *, listeners: int, group_by: str, hold_out: float, rng: np.random.Generator
) -> list[Listener]:
    """Listeners each liking two random ``group_by`` groups of at least ``MIN_GROUP_TRACKS`` tracks."""
    groups = track_groups(tracks, group_by)
    names = sorted(g for g, ids in groups.items() if len(ids) >= MIN_GROUP_TRACKS)
    if len(names) < 2:
        raise InputError(f"need at least two {group_by} groups of {MIN_GROUP_TRACKS}+ tracks to simulate listeners")
    made = []
    for i in range(listeners):
        pair = tuple(str(g) for g in rng.choice(names, size=2, replace=False))
        made.append(listener_liking(f"listener-{i:04d}", pair, groups, hold_out=hold_out, rng=rng))
    return made


def events_of(history: list[int], rng: np.random.Generator) -> list[tuple[int, datetime, bool]]:
    """One to three completed plays per track, spread over the 60 days before 2025-01-01."""
    now = datetime(2025, 1, 1, tzinfo=UTC)
    events = []
    for t in history:
        for _ in range(int(rng.integers(1, 4))):
            events.append((t, now - timedelta(days=float(rng.uniform(0, 60))), False))
    return events
