"""Similar tracks re-ranked by their best-matching segments: the pure mix and the request through the index."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import delete

from soundalike.embed.fusion import BlockNormaliser
from soundalike.embed.musicnn_encoder import SEGMENTS_FEATURE
from soundalike.embed.segments import SegmentScoring
from soundalike.embed.standardiser import Standardiser
from soundalike.embed.unit_norm import unit_rows
from soundalike.ingest.db.models import Feature
from soundalike.ingest.db.session import session_scope
from soundalike.ingest.errors import InputError
from soundalike.ingest.repository import set_feature
from soundalike.recommend.ranking import mix_segment_scores
from soundalike.recommend.served_index import ServedIndex
from soundalike.recommend.similar import Options, similar_to_track

from support.recommend_fixtures import Catalogue

WIDTH = 64
SEED = 4


def random_segments(rng: np.random.Generator, k: int = 3) -> np.ndarray:
    return unit_rows(rng.standard_normal((k, WIDTH))).astype(np.float32)


def identity_scoring(weight: float) -> SegmentScoring:
    """Segments compared as stored (a standardiser that changes nothing)."""
    unchanged = Standardiser(np.zeros(WIDTH, np.float32), np.ones(WIDTH, np.float32))
    return SegmentScoring(weight, BlockNormaliser(unchanged))


def test_a_shared_passage_lifts_a_candidate_whose_track_mean_matches_less() -> None:
    rng = np.random.default_rng(0)
    seed = random_segments(rng)
    passage = np.vstack([random_segments(rng, 2), seed[1:2]])
    unrelated = random_segments(rng)
    sims = np.array([[0.80], [0.60]])
    off = mix_segment_scores(sims, [seed], [unrelated, passage], 0.0)
    on = mix_segment_scores(sims, [seed], [unrelated, passage], 0.5)
    assert off.argmax() == 0 and on.argmax() == 1
    assert on[1, 0] == pytest.approx(0.5 * 0.60 + 0.5 * 1.0, abs=1e-6)
    assert on[0, 0] == pytest.approx(0.5 * 0.80 + 0.5 * float((seed @ unrelated.T).max()), abs=1e-6)


def test_a_pair_without_segments_keeps_its_track_cosine() -> None:
    rng = np.random.default_rng(1)
    sims = np.array([[0.9, 0.4], [0.7, 0.2]])
    mixed = mix_segment_scores(sims, [random_segments(rng), None], [None, random_segments(rng)], 0.5)
    assert mixed[0, 0] == 0.9 and mixed[0, 1] == 0.4 and mixed[1, 1] == 0.2
    assert mixed[1, 0] != 0.7


def test_the_batched_mix_is_the_best_pair_of_every_seed_and_candidate() -> None:
    """Candidates of 1 to 3 segments, some without any, against seeds of different counts: each pair's score is
    its own best segment cosine mixed with its track cosine."""
    rng = np.random.default_rng(4)
    seeds = [random_segments(rng, 3), None, random_segments(rng, 1)]
    candidates = [random_segments(rng, int(rng.integers(1, 4))) if c % 3 else None for c in range(10)]
    sims = rng.uniform(-1, 1, (len(candidates), len(seeds)))
    mixed = mix_segment_scores(sims, seeds, candidates, 0.3)
    for c, candidate in enumerate(candidates):
        for s, seed in enumerate(seeds):
            expected = sims[c, s]
            if seed is not None and candidate is not None:
                expected = 0.7 * sims[c, s] + 0.3 * float((seed @ candidate.T).max())
            assert mixed[c, s] == pytest.approx(expected, abs=1e-6)


def test_mix_refuses_a_weight_outside_zero_to_one_and_misaligned_scores() -> None:
    with pytest.raises(InputError, match="segment weight"):
        mix_segment_scores(np.zeros((1, 1)), [None], [None], 1.5)
    with pytest.raises(InputError, match="2 candidates and 1 seeds"):
        mix_segment_scores(np.zeros((1, 1)), [None], [None, None], 0.5)


def ranked(catalogue: Catalogue, segments: SegmentScoring | None = None, k: int = 10) -> list[int]:
    """The seed's similar tracks, without diversity, from the catalogue's index served with ``segments``."""
    served = catalogue.service.index
    index = ServedIndex(served.current, served.table, segments)
    with session_scope(catalogue.service.factory) as session:
        return [r.track_id for r in similar_to_track(session, index, SEED, k, Options(diversity=0.0))]


def store_segments(catalogue: Catalogue, segments: dict[int, np.ndarray]) -> None:
    with session_scope(catalogue.service.factory) as session:
        for track_id, matrix in segments.items():
            set_feature(session, track_id, SEGMENTS_FEATURE, "test", matrix.ravel())


def test_similar_tracks_put_the_track_sharing_a_segment_first(catalogue: Catalogue) -> None:
    """Every track has unrelated segments except the seed's fifth neighbour, which shares one passage: by track
    means it is fifth, re-ranked by segments it is first (weight 0 changes nothing)."""
    plain = ranked(catalogue)
    target = plain[4]
    rng = np.random.default_rng(2)
    segments = {t: random_segments(rng) for t in catalogue.genre_of if t != catalogue.deleted}
    segments[target] = np.vstack([random_segments(rng, 2), segments[SEED][2:3]])
    store_segments(catalogue, segments)
    assert ranked(catalogue) == plain
    reranked = ranked(catalogue, identity_scoring(0.5))
    assert reranked[0] == target
    assert ranked(catalogue, identity_scoring(0.0)) == plain


def test_tracks_without_segments_are_still_ranked_by_their_track_score(catalogue: Catalogue) -> None:
    plain = ranked(catalogue)
    rng = np.random.default_rng(3)
    store_segments(catalogue, {SEED: random_segments(rng), plain[3]: random_segments(rng)})
    reranked = ranked(catalogue, identity_scoring(0.5))
    assert [t for t in reranked if t != plain[3]][:8] == [t for t in plain if t != plain[3]][:8]
    with session_scope(catalogue.service.factory) as session:
        session.execute(delete(Feature).where(Feature.name == SEGMENTS_FEATURE))
    assert ranked(catalogue, identity_scoring(0.5)) == plain
