"""Live swaps under concurrent queries, and sharded search equal to unsharded."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from helpers import clustered

from soundalike.index.live import LiveIndex
from soundalike.index.streamed_build import BuildOptions, build_index


def test_queries_never_fail_while_indexes_are_rebuilt_and_swapped() -> None:
    rng = np.random.default_rng(0)
    vectors = clustered(rng, 3000, 32)
    live = LiveIndex(build_index(np.arange(1000), vectors[:1000], model_name="m", model_version="1"))
    failures: list[BaseException] = []
    answered = [0]
    stop = threading.Event()

    def query() -> None:
        while not stop.is_set():
            try:
                ids, _ = live.search(vectors[:8], 5)
                assert ids.shape == (8, 5) and (ids >= 0).all()
                answered[0] += 1
            except BaseException as error:  # noqa: BLE001 - every failure counts
                failures.append(error)

    threads = [threading.Thread(target=query) for _ in range(4)]
    for thread in threads:
        thread.start()
    for size in (1500, 2000, 2500, 3000):
        future = live.rebuild(lambda n=size: build_index(np.arange(n), vectors[:n], model_name="m", model_version="1"))
        assert future.result(timeout=60).meta.count == size
    stop.set()
    for thread in threads:
        thread.join()
    live.close()
    assert failures == [] and answered[0] > 0
    assert live.generation == 4 and live.meta.count == 3000


def test_failed_rebuild_keeps_serving_the_old_index() -> None:
    rng = np.random.default_rng(1)
    old = build_index(np.arange(50), clustered(rng, 50, 8), model_name="m", model_version="1")
    live = LiveIndex(old)

    def broken() -> object:
        raise RuntimeError("embedding store unreachable")

    with pytest.raises(RuntimeError):
        live.rebuild(broken).result(timeout=10)  # type: ignore[arg-type]
    live.close()
    assert live.current is old and live.generation == 0


@pytest.mark.parametrize("kind", ["flat", "ivf_flat", "hnsw"])
def test_sharded_search_equals_unsharded(kind: str) -> None:
    rng = np.random.default_rng(2)
    vectors = clustered(rng, 2000, 24)
    ids = rng.choice(50_000, 2000, replace=False).astype(np.int64)
    queries = vectors[:40] + 0.02 * rng.standard_normal((40, 24)).astype(np.float32)
    whole = build_index(ids, vectors, model_name="m", model_version="1", options=BuildOptions(kind=kind))
    sharded = build_index(ids, vectors, model_name="m", model_version="1", options=BuildOptions(kind=kind, shards=3))
    assert sharded.meta.shards == 3 and sharded.index.ntotal == 2000
    if kind != "hnsw":  # exact and IVF: same lists probed, so identical results
        exact = {"nlist": whole.meta.nlist, "nprobe": whole.meta.nlist} if kind == "ivf_flat" else {}
        whole.meta.params.update(exact)
        sharded.meta.params.update(exact)
    a_ids, a_scores = whole.search(queries, 10)
    b_ids, b_scores = sharded.search(queries, 10)
    overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(a_ids, b_ids, strict=True)])
    if kind == "hnsw":  # two different graphs: both approximate the same exact lists
        assert overlap >= 0.9
    else:
        np.testing.assert_allclose(a_scores, b_scores, atol=1e-5)
        assert overlap >= 0.999
