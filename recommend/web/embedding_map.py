"""The 2-D map of the catalogue: embeddings projected on their two principal axes, coloured by genre."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from soundalike.embed.projection import pca_2d
from soundalike.embed.store import load_embeddings
from soundalike.recommend.track_table import NO_TRACK, TrackTable

MAX_POINTS = 5000
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
NO_GENRE_COLOUR = "#999999"


@dataclass(frozen=True)
class Point:
    """One track on the map: position in [0, 1] x [0, 1], its genre and colour, and what a tooltip shows."""

    track_id: int
    x: float
    y: float
    genre: str | None
    colour: str
    label: str


def unit_square(coords: np.ndarray) -> np.ndarray:
    """Each column of ``coords`` scaled into [0, 1]; a constant column becomes 0."""
    if len(coords) == 0:
        return coords
    low, span = coords.min(axis=0), np.ptp(coords, axis=0)
    return np.asarray((coords - low) / np.where(span > 0, span, 1.0))


def embedding_map(session: Session, table: TrackTable, model_name: str) -> tuple[list[Point], dict[str, str]]:
    """(points, genre -> colour) for the tracks embedded by ``model_name`` (an even sample of ``MAX_POINTS``)."""
    ids, vectors, _ = load_embeddings(session, model_name)
    if len(ids) > MAX_POINTS:
        keep = np.linspace(0, len(ids) - 1, MAX_POINTS).astype(np.int64)
        ids, vectors = ids[keep], vectors[keep]
    coords = unit_square(pca_2d(vectors))
    rows = table.rows(ids)
    genres = [min(table.genres[r]) if r != NO_TRACK and table.genres[r] else None for r in rows.tolist()]
    colours = {g: PALETTE[n % len(PALETTE)] for n, g in enumerate(sorted({g for g in genres if g is not None}))}
    points = []
    for track_id, (x, y), genre, row in zip(ids.tolist(), coords.tolist(), genres, rows.tolist(), strict=True):
        title = table.title[row] if row != NO_TRACK else None
        label = f"{title or f'track {track_id}'} ({genre or 'no genre'})"
        points.append(
            Point(track_id, x, y, genre, colours.get(genre, NO_GENRE_COLOUR) if genre else NO_GENRE_COLOUR, label)
        )
    return points, colours
