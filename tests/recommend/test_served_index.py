"""The served index under concurrent queries: swaps never fail a search, and a mismatched index is refused."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from soundalike.index.streamed_build import build_index
from soundalike.index.track_index import TrackIndex
from soundalike.ingest.errors import IndexMismatchError
from soundalike.recommend.served_index import ServedIndex
from soundalike.recommend.track_table import TrackTable


def indexed(vectors: np.ndarray, n: int) -> tuple[TrackIndex, TrackTable]:
    """An index of the first ``n`` vectors (track ids 0..n-1) and an empty track table."""
    return build_index(np.arange(n), vectors[:n], model_name="m", model_version="1"), TrackTable([])


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
    old, table = indexed(rng.standard_normal((50, 8)).astype(np.float32), 50)
    served = ServedIndex(old, table)
    wider = indexed(rng.standard_normal((50, 16)).astype(np.float32), 50)
    with pytest.raises(IndexMismatchError, match="cannot swap a 16d cosine index for a 8d cosine one"):
        served.reload(lambda: wider).result(timeout=30)
    served.close()
    assert served.current is old and served.table is table and served.generation == 0
    assert served.last_error is not None and served.last_error.startswith("IndexMismatchError")
