"""Decoding workers run their native thread pools (BLAS, OpenMP) on one thread each."""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_info

from soundalike.ingest.process_pool import worker_pool


def _native_threads() -> list[int]:
    np.ones((64, 64)) @ np.ones((64, 64))  # loads the BLAS the workers' mel filters use
    return [pool["num_threads"] for pool in threadpool_info()]


def test_workers_limit_native_thread_pools_to_one_thread() -> None:
    with worker_pool(2) as pool:
        per_worker = [pool.submit(_native_threads).result() for _ in range(4)]
    assert all(threads for threads in per_worker), "numpy's BLAS should be visible to threadpoolctl"
    assert all(set(threads) == {1} for threads in per_worker)


def test_the_ingesting_process_keeps_its_own_thread_pools() -> None:
    before = _native_threads()
    with worker_pool(1) as pool:
        assert set(pool.submit(_native_threads).result()) == {1}
    assert _native_threads() == before
