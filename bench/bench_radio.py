"""Does the radio learn within a session? Simulated listeners with a hidden taste skip what is outside it.

Catalogue: the synthetic one of the recommendation tests (72 tracks, 4 styles x 3 albums, one artist per album,
clustered 16-d vectors, ``tests/support/recommend_fixtures.py``), stored in SQLite and indexed for real. Each
listener (``recommend.simulated_listeners``) likes two random albums; their radio is seeded with one track of the
first. A track outside the liked albums is skipped two seconds in, one inside is played through. Three radios
answer the same listeners: the radio with feedback, the same radio told nothing (no feedback), and random picks.
Reported: precision (share of liked picks) by position in the session, and the precision of the picks that
come after the listener's fifth skip, median and [min, max] over ``--seeds`` seeds.

    .venv/bin/python bench/bench_radio.py --seeds 5 --listeners 12 --length 20
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from soundalike.ingest.db.session import session_scope  # noqa: E402
from soundalike.ingest.settings import Settings  # noqa: E402
from soundalike.recommend.radio_sessions import next_tracks, record_feedback, start_radio  # noqa: E402
from soundalike.recommend.simulated_listeners import simulate_listeners  # noqa: E402

from support.recommend_fixtures import make_catalogue  # noqa: E402

SKIPS_BEFORE = 5


def session_hits(catalogue, liked: set[int], seed: int, length: int, mode: str, rng) -> list[bool]:  # type: ignore[no-untyped-def]
    """Whether each of ``length`` picks is liked, for a radio with feedback, without, or random picks."""
    if mode == "random":
        pool = [t for t in catalogue.genre_of if t not in (seed, catalogue.deleted)]
        return [t in liked for t in rng.choice(pool, size=length, replace=False)]
    hits = []
    with session_scope(catalogue.service.factory) as session:
        radio, picks = start_radio(session, catalogue.service.index, seeds=[seed], user=None, n=1)
        while len(hits) < length and picks:
            track = picks[0].track_id
            hits.append(track in liked)
            if mode == "feedback":
                event, position = ("played", 240.0) if track in liked else ("skipped", 2.0)
                record_feedback(session, radio, track, event, position)
            picks = next_tracks(session, catalogue.service.index, radio, 1)
    return hits


def run(seeds: int, listeners: int, length: int) -> dict[str, object]:
    """Precision by position and after the fifth skip, per radio, over ``seeds`` seeds."""
    home = Path(tempfile.mkdtemp(prefix="bench-radio-"))
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'db.sqlite'}", embedding_model="mfcc-stats")
    catalogue = make_catalogue(settings)
    tracks = list(catalogue.service.index.table.facts(catalogue.genre_of).values())
    modes = ("feedback", "no_feedback", "random")
    by_position = {m: [] for m in modes}  # type: ignore[var-annotated]
    after_skips = {m: [] for m in modes}  # type: ignore[var-annotated]
    for s in range(seeds):
        rng = np.random.default_rng(s)
        made = simulate_listeners(tracks, listeners=listeners, group_by="album", hold_out=0.5, rng=rng)
        runs = {m: [] for m in modes}  # type: ignore[var-annotated]
        for listener in made:
            liked = set(listener.history) | listener.held_out
            first = [t for t in sorted(liked) if catalogue.album_of[t] == listener.groups[0]]
            seed = int(rng.choice(first))
            for m in modes:
                runs[m].append(session_hits(catalogue, liked - {seed}, seed, length, m, rng))
        for m in modes:
            matrix = np.array([r + [False] * (length - len(r)) for r in runs[m]], dtype=float)
            by_position[m].append(matrix.mean(axis=0))
            after = []
            for r, fb in zip(runs[m], runs["feedback"], strict=True):
                misses = np.flatnonzero(~np.array(fb, dtype=bool))
                if len(misses) >= SKIPS_BEFORE and misses[SKIPS_BEFORE - 1] + 1 < len(r):
                    after.extend(r[misses[SKIPS_BEFORE - 1] + 1 :])
            after_skips[m].append(float(np.mean(after)) if after else float("nan"))
    report: dict[str, object] = {"catalogue": "synthetic, 72 tracks", "seeds": seeds, "listeners": listeners}
    for m in modes:
        positions = np.stack(by_position[m])
        blocks = {f"{a + 1}-{b}": positions[:, a:b].mean(axis=1) for a, b in ((0, 5), (5, 10), (10, length))}
        report[m] = {
            "precision_by_position": {k: _spread(v) for k, v in blocks.items()},
            "after_fifth_skip": _spread(np.array(after_skips[m])),
        }
    return report


def _spread(values: np.ndarray) -> dict[str, float]:
    values = values[~np.isnan(values)]
    return {"median": round(float(np.median(values)), 3), "min": round(float(values.min()), 3),
            "max": round(float(values.max()), 3)}  # fmt: skip


def main() -> None:
    """Run and print the report as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--listeners", type=int, default=12)
    parser.add_argument("--length", type=int, default=20)
    args = parser.parse_args()
    print(json.dumps(run(args.seeds, args.listeners, args.length), indent=2))


if __name__ == "__main__":
    main()
