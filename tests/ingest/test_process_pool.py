"""Decoding workers run their native thread pools (BLAS, OpenMP) on one thread each, and a pool started ahead
forks and warms its workers at once."""

from __future__ import annotations

import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info

from soundalike.ingest.process_pool import started_pool, stop_pool, worker_pool

from support.processes import alive


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


def test_a_started_pool_forks_and_warms_its_workers_before_any_task(tmp_path: Path) -> None:
    markers = [tmp_path / "worker-0", tmp_path / "worker-1"]
    pool = started_pool(2, partial(_mark_first_free, markers))
    try:
        deadline = time.monotonic() + 60
        while not all(m.exists() for m in markers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all(m.exists() for m in markers)
    finally:
        pool.shutdown(wait=True)


def _mark_first_free(markers: list[Path]) -> None:
    for marker in markers:
        try:
            marker.touch(exist_ok=False)
            return
        except FileExistsError:
            continue


def test_the_decoding_workers_code_does_not_import_torch() -> None:
    """Workers fork before the ingesting process loads torch; the modules they run must not load it either."""
    code = (
        "import sys\n"
        "import soundalike.ingest.analysis, soundalike.ingest.engine, soundalike.embed.musicnn_frontend\n"
        "print('torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_stopping_a_pool_that_got_no_work_does_not_wait_for_its_warm_up() -> None:
    pool = started_pool(2, partial(time.sleep, 60))
    time.sleep(0.5)  # the workers are in their warm-up
    workers = list(pool._processes)  # noqa: SLF001 - the test checks the processes end
    started = time.monotonic()
    stop_pool(pool)
    assert time.monotonic() - started < 20
    assert not any(alive(pid) for pid in workers)


def test_stopping_a_pool_after_its_work_keeps_every_result() -> None:
    pool = started_pool(2)
    futures = [pool.submit(pow, n, 2) for n in range(20)]
    results = [future.result() for future in futures]
    stop_pool(pool)
    assert results == [n * n for n in range(20)]
