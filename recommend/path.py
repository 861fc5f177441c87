"""A sonic path from one track to another: evenly spaced waypoints between them, one unused track per step."""

from __future__ import annotations

import numpy as np
from sqlalchemy.orm import Session

from soundalike.embed.fusion import layout_of
from soundalike.embed.store import track_embedding, track_embeddings
from soundalike.embed.unit_norm import unit, unit_rows
from soundalike.ingest.errors import InputError, NotFoundError
from soundalike.ingest.repository import get_track
from soundalike.recommend.defaults import DEFAULTS
from soundalike.recommend.ranking import NEAR_DUPLICATE_COSINE
from soundalike.recommend.results import Result, explain, matching_aspects, result_of
from soundalike.recommend.track_table import CatalogueIndex

NEIGHBOURS_PER_STEP = 32


def waypoints(start: np.ndarray, end: np.ndarray, steps: int) -> np.ndarray:
    """``steps`` unit vectors on the great circle from ``start`` to ``end`` (both included), evenly spaced."""
    if steps < 2:
        raise ValueError(f"a path needs at least 2 steps, got {steps}")
    a, b = unit(start), unit(end)
    omega = float(np.arccos(np.clip(a @ b, -1.0, 1.0)))
    t = np.linspace(0.0, 1.0, steps)[:, None]
    if omega < 1e-6:
        return np.repeat(a[None, :], steps, axis=0)
    points = (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)
    return unit_rows(points)


def choose_path(
    points: np.ndarray, options: list[list[int]], vectors: dict[int, np.ndarray], taken: set[int]
) -> list[int | None]:
    """For each inner waypoint, the unused candidate closest to it that is not a near-copy of a chosen track."""
    chosen: list[int | None] = []
    used = set(taken)
    picked_vectors: list[np.ndarray] = []
    for point, ids in zip(points, options, strict=True):
        best, best_score = None, -np.inf
        for tid in ids:
            if tid in used or tid not in vectors:
                continue
            v = vectors[tid]
            if picked_vectors and max(float(v @ p) for p in picked_vectors) >= NEAR_DUPLICATE_COSINE:
                continue
            score = float(v @ point)
            if score > best_score:
                best, best_score = tid, score
        chosen.append(best)
        if best is not None:
            used.add(best)
            picked_vectors.append(vectors[best])
    return chosen


def sonic_path(session: Session, index: CatalogueIndex, start_id: int, end_id: int, steps: int) -> list[Result]:
    """``steps`` tracks from ``start_id`` to ``end_id`` (both included), each step the closest unused track to an
    evenly spaced point between them; similarity is to the start track. Fewer steps when the catalogue runs out."""
    if not 2 <= steps <= DEFAULTS.max_path_steps:
        raise InputError(f"steps must be within [2, {DEFAULTS.max_path_steps}], got {steps}")
    if start_id == end_id:
        raise InputError("start and end of a path must be different tracks")
    get_track(session, start_id)
    get_track(session, end_id)
    model = index.meta.model_name
    start, end = unit(track_embedding(session, model, start_id)), unit(track_embedding(session, model, end_id))
    points = waypoints(start, end, steps)[1:-1]
    ids: list[list[int]] = []
    if len(points):
        found, _ = index.search(points, NEIGHBOURS_PER_STEP + steps)
        ids = [[int(t) for t in row if t >= 0] for row in found]
    facts = index.table.facts({t for row in ids for t in row} | {start_id, end_id})
    unserved = [t for t in (start_id, end_id) if t not in facts]
    if unserved:
        raise NotFoundError(f"track {unserved[0]} is not served yet (reload the index)")
    ok = {t for t, f in facts.items() if f.status == "ok"}
    raw = track_embeddings(session, model, sorted(ok))
    vectors = {t: unit(v) for t, v in raw.items()}
    taken = {start_id, end_id, facts[start_id].canonical, facts[end_id].canonical}
    taken |= {t for t, f in facts.items() if f.canonical in taken}
    middle = [t for t in choose_path(points, ids, vectors, taken) if t is not None]
    route = [start_id, *middle, end_id]
    anchor = facts[start_id]
    layout = layout_of(model, index.meta.model_version)
    results = []
    for t in route:
        vector = vectors.get(t, start)
        aspects = matching_aspects(layout, vector, start)
        results.append(
            result_of(facts[t], float(vector @ start), explain("path from", facts[t], anchor, None, aspects=aspects))
        )
    return results
