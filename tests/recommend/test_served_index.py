"""The served index under concurrent queries: swaps never fail a search, a mismatched index is refused, and the
segment scoring is swapped with its index."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from soundalike.embed.fusion import BlockNormaliser
from soundalike.embed.segments import SegmentScoring
from soundalike.embed.standardiser import Standardiser
from soundalike.index.streamed_build import build_index
from soundalike.ingest.errors import IndexMismatchError
from soundalike.recommend.served_index import ServedIndex, ServedParts
from soundalike.recommend.track_table import TrackTable


def indexed(vectors: np.ndarray, n: int, segments: SegmentScoring | None = None) -> ServedParts:
    """An index of the first ``n`` vectors (track ids 0..n-1), an empty track table and ``segments``."""
    return ServedParts(
        build_index(np.arange(n), vectors[:n], model_name="m", model_version="1"), TrackTable([]), segments
    )


def test_queries_never_fail_while_indexes_are_rebuilt_and_swapped() -> None:
    vectors = np.random.default_rng(0).standard_normal((3000, 32)).astype(np.float32)
    served = ServedIndex(*indexed(vectors, 1000))
    failures: list[BaseException] = []
    answered = [0]
    stop = threading.Event()

    def query() -> None:
        while not stop.is_set():
            try:
                ids, _ = served.search(vectors[:8], 5)
                assert ids.shape == (8, 5) and (ids >= 0).all()
                answered[0] += 1
            except BaseException as error:  # noqa: BLE001 - every failure counts
                failures.append(error)

    threads = [threading.Thread(target=query) for _ in range(4)]
    for thread in threads:
        thread.start()
    for size in (1500, 2000, 2500, 3000):
        assert served.reload(lambda n=size: indexed(vectors, n)).result(timeout=60).meta.count == size
    stop.set()
    for thread in threads:
        thread.join()
    served.close()
    assert failures == [] and answered[0] > 0
    assert served.generation == 4 and served.meta.count == 3000 and served.last_error is None


def test_an_index_of_another_dimension_is_refused_and_the_old_one_keeps_serving() -> None:
    rng = np.random.default_rng(1)
    old, table, _ = indexed(rng.standard_normal((50, 8)).astype(np.float32), 50)
    served = ServedIndex(old, table)
    wider = indexed(rng.standard_normal((50, 16)).astype(np.float32), 50)
    with pytest.raises(IndexMismatchError, match="cannot swap a 16d cosine index for a 8d cosine one"):
        served.reload(lambda: wider).result(timeout=30)
    served.close()
    assert served.current is old and served.table is table and served.generation == 0
    assert served.last_error is not None and served.last_error.startswith("IndexMismatchError")


def test_a_reload_serves_the_segment_scoring_fitted_with_the_new_index() -> None:
    """The segments' normaliser is fitted with the fusion at index build: a reload must not keep the old one."""
    vectors = np.random.default_rng(2).standard_normal((60, 8)).astype(np.float32)

    def scoring(mean: float) -> SegmentScoring:
        return SegmentScoring(0.5, BlockNormaliser(Standardiser(np.full(8, mean, np.float32), np.ones(8, np.float32))))

    first, refitted = scoring(0.0), scoring(1.0)
    served = ServedIndex(*indexed(vectors, 50, first))
    assert served.segments is first
    served.reload(lambda: indexed(vectors, 60, refitted)).result(timeout=30)
    assert served.segments is refitted and served.meta.count == 60
    served.reload(lambda: indexed(vectors, 60)).result(timeout=30)
    served.close()
    assert served.segments is None
