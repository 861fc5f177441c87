"""Similar tracks to one or several catalogue tracks, or to an embedding of outside audio."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from soundalike.embed.fusion import layout_of
from soundalike.embed.segments import SegmentScoring
from soundalike.embed.unit_norm import unit, unit_rows
from soundalike.ingest.errors import InputError, NotFoundError
from soundalike.recommend.candidates import Rescore, pick, pool_size, served_embeddings
from soundalike.recommend.defaults import DEFAULTS
from soundalike.recommend.facts import TrackFacts
from soundalike.recommend.filters import Filters
from soundalike.recommend.ranking import mix_segment_scores
from soundalike.recommend.results import Result, explain, matching_aspects, result_of
from soundalike.recommend.track_table import CatalogueIndex


@dataclass(frozen=True)
class Options:
    """How results are shaped: filters, artist cap and MMR diversity (0 = pure similarity)."""

    filters: Filters = Filters()
    artist_cap: int | None = None
    diversity: float = DEFAULTS.similar_diversity


def rank_near(
    session: Session,
    index: CatalogueIndex,
    seeds: np.ndarray,
    anchors: Sequence[TrackFacts | None],
    k: int,
    options: Options,
    *,
    basis: str,
) -> list[Result]:
    """The ``k`` best tracks for seed vectors: relevance is the mean cosine to the seeds (re-ranked by best-matching
    segments when the index has a segment scoring), results interleave over their nearest seeds, seed tracks and
    their duplicates are left out, filters and the artist cap hold."""
    if k < 1:
        raise InputError(f"k must be >= 1, got {k}")
    seeds = unit_rows(np.atleast_2d(seeds).astype(np.float32))
    taken = {a.canonical for a in anchors if a is not None} | {a.track_id for a in anchors if a is not None}
    found = pick(
        session,
        index,
        seeds,
        k,
        pool=pool_size(k, options.filters) + len(taken),
        taken=taken,
        filters=options.filters,
        artist_cap=options.artist_cap,
        diversity=options.diversity,
        group_weights=[1.0] * len(seeds),
        relevance=lambda sims: sims.mean(axis=1),
        rescore=None if index.segments is None else segment_rescore(session, index.segments, anchors),
    )
    chosen = index.table.facts(c.track_id for c, _ in found)
    layout = layout_of(index.meta.model_name, index.meta.model_version)
    results = []
    for c, vector in found:
        facts = chosen[c.track_id]
        similarity = float(vector @ seeds[c.group])
        aspects = matching_aspects(layout, vector, seeds[c.group])
        results.append(
            result_of(facts, c.relevance, explain(basis, facts, anchors[c.group], similarity, aspects=aspects))
        )
    return results


def segment_rescore(session: Session, scoring: SegmentScoring, anchors: Sequence[TrackFacts | None]) -> Rescore:
    """Candidates' cosines to the seeds re-ranked by best-matching segments (``mix_segment_scores``); the
    segments of the seed tracks are read once, each candidate pool's as it is scored."""
    seeds = scoring.read(session, [a.track_id for a in anchors if a is not None])
    seed_segments = [None if a is None else seeds.get(a.track_id) for a in anchors]

    def rescore(ids: list[int], sims: np.ndarray) -> np.ndarray:
        found = scoring.read(session, ids)
        return mix_segment_scores(sims, seed_segments, [found.get(t) for t in ids], scoring.weight)

    return rescore


def similar_to_tracks(
    session: Session, index: CatalogueIndex, track_ids: Sequence[int], k: int, options: Options | None = None
) -> list[Result]:
    """The ``k`` tracks most like all the seed tracks together (each seed's neighbours interleaved)."""
    if not track_ids:
        raise InputError("give at least one seed track")
    if len(track_ids) > DEFAULTS.max_seeds:
        raise InputError(f"at most {DEFAULTS.max_seeds} seed tracks, got {len(track_ids)}")
    seeds = list(dict.fromkeys(int(t) for t in track_ids))
    anchors = index.table.facts(seeds)
    missing = [t for t in seeds if t not in anchors]
    if missing:
        raise NotFoundError(f"no track with id {missing[0]}")
    found = served_embeddings(session, index, seeds)
    absent = [t for t in seeds if t not in found]
    if absent:
        raise NotFoundError(
            f"track {absent[0]} has no {index.meta.model_name} embedding (run `soundalike index build`)"
        )
    vectors = np.stack([found[t] for t in seeds])
    return rank_near(session, index, vectors, [anchors[t] for t in seeds], k, options or Options(), basis="like seed")


def similar_to_track(
    session: Session, index: CatalogueIndex, track_id: int, k: int, options: Options | None = None
) -> list[Result]:
    """The ``k`` tracks most similar to a catalogue track, itself and its duplicates excluded."""
    return similar_to_tracks(session, index, [track_id], k, options)


def similar_to_vector(
    session: Session, index: CatalogueIndex, vector: np.ndarray, k: int, options: Options | None = None
) -> list[Result]:
    """The ``k`` catalogue tracks most similar to an embedding (e.g. of an uploaded audio clip)."""
    return rank_near(
        session, index, unit(vector)[None, :], [None], k, options or Options(), basis="like the query audio"
    )
