"""Offline evaluation of playlists on simulated listeners with known tastes.

Each simulated listener likes two groups of the catalogue (albums by default, or genres): their history is
plays of a random part of those groups' tracks, the rest is held out. A playlist scores a hit for every
held-out track it contains. The personalised playlist is compared, on the same listeners, with a popularity
baseline (most played tracks across the simulated listeners' histories) and a random one (unheard tracks).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass

import numpy as np
from sqlalchemy.orm import Session

from soundalike.embed.store import track_embeddings
from soundalike.embed.unit_norm import unit_rows
from soundalike.ingest.errors import InputError
from soundalike.recommend.facts import TrackFacts
from soundalike.recommend.playlist import PlaylistOptions, playlist_from_events
from soundalike.recommend.ranking import intra_list_distance
from soundalike.recommend.simulated_listeners import Listener, events_of, simulate_listeners
from soundalike.recommend.track_table import CatalogueIndex

STRATEGIES = ("personalised", "popularity", "random")


@dataclass(frozen=True)
class Scores:
    """Mean scores of one strategy over the listeners."""

    hit_rate: float
    precision: float
    diversity: float
    artist_cap_ok: float


def score(
    playlist: list[int], listener: Listener, vectors: dict[int, np.ndarray], facts: dict[int, TrackFacts], cap: int
) -> tuple[float, float, float, float]:
    """(hit, precision, intra-list distance, artist cap kept) of one playlist for one listener."""
    hits = len(set(playlist) & listener.held_out)
    rows = [vectors[t] for t in playlist if t in vectors]
    diversity = intra_list_distance(unit_rows(np.stack(rows))) if len(rows) > 1 else 0.0
    artists = Counter(facts[t].artist for t in playlist if facts[t].artist)
    capped = all(n <= cap for n in artists.values())
    return float(hits > 0), hits / max(len(playlist), 1), diversity, float(capped)


def evaluate_playlists(
    session: Session,
    index: CatalogueIndex,
    *,
    listeners: int = 30,
    k: int = 10,
    group_by: str = "album",
    hold_out: float = 0.5,
    seed: int = 0,
    options: PlaylistOptions | None = None,
) -> dict[str, object]:
    """Hit-rate@k, precision@k, intra-list diversity and artist-cap compliance per strategy (a dict of scores)."""
    if group_by not in ("album", "genre"):
        raise InputError(f"group_by must be album or genre, got {group_by!r}")
    options = options or PlaylistOptions(n=k)
    options = PlaylistOptions(**{**asdict(options), "n": k, "filters": options.filters})
    rng = np.random.default_rng(seed)
    table = index.table
    everything = list(table.facts(table.ids[table.ok].tolist()).values())
    every_fact = {t.track_id: t for t in everything}
    tracks = [t for t in everything if t.duplicate_of_id is None]
    facts = {t.track_id: t for t in tracks}
    vectors = track_embeddings(session, index.meta.model_name, list(every_fact))
    simulated = simulate_listeners(tracks, listeners=listeners, group_by=group_by, hold_out=hold_out, rng=rng)
    histories = {s.name: events_of(s.history, rng) for s in simulated}
    popularity = Counter(t for events in histories.values() for t, _, _ in events)
    popular = [t for t, _ in sorted(popularity.items(), key=lambda kv: (-kv[1], kv[0]))] + sorted(
        t for t in facts if t not in popularity
    )
    cap = options.artist_cap or k
    totals = {s: np.zeros(4) for s in STRATEGIES}
    for listener in simulated:
        heard = set(listener.history)
        unheard = [t for t in facts if t not in heard]
        made = playlist_from_events(session, index, listener.name, histories[listener.name], options)
        lists = {
            "personalised": [r.track_id for r in made.results],
            "popularity": [t for t in popular if t not in heard][:k],
            "random": [int(t) for t in rng.choice(unheard, size=min(k, len(unheard)), replace=False)],
        }
        for strategy, playlist in lists.items():
            totals[strategy] += score(playlist, listener, vectors, every_fact, cap)
    n = len(simulated)
    return {
        "listeners": n,
        "k": k,
        "group_by": group_by,
        "hold_out": hold_out,
        "catalogue": len(facts),
        "scores": {s: asdict(Scores(*(round(float(v) / n, 4) for v in totals[s]))) for s in STRATEGIES},
    }
