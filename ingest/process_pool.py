"""Worker process pools whose workers die with the process that started them, even on SIGKILL, and run
single-threaded native code.

A killed ingest must not leave decoding processes behind holding memory and the database file. On Linux
each worker asks the kernel for SIGKILL when its parent dies (``PR_SET_PDEATHSIG``); elsewhere a daemon
thread in the worker watches its parent's pid.

A pool can be started ahead of its work (``started_pool``): its workers fork at once and run a warm-up (the
imports of the analysis code) while the starting process loads what it needs itself (the network).

The pool already puts one process on each core, so each worker limits its BLAS and OpenMP pools to one
thread (``threadpoolctl``): a worker's matrix products spreading over every core made the workers and the
ingesting process's network take turns on the same cores (bench/RESULTS.md, "CPU ingest speed").
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

from threadpoolctl import threadpool_limits

PR_SET_PDEATHSIG = 1
WATCH_SECONDS = 1.0


def die_with_parent(parent_pid: int) -> None:
    """Worker initialiser: end this process as soon as ``parent_pid`` is gone."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    else:
        threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    if os.getppid() != parent_pid:  # the parent died before the request above took effect
        os._exit(1)


def start_worker(parent_pid: int, warm_up: Callable[[], None] | None = None) -> None:
    """Worker initialiser: die with ``parent_pid``, keep native thread pools to one thread, then ``warm_up``."""
    die_with_parent(parent_pid)
    threadpool_limits(limits=1)
    if warm_up is not None:
        warm_up()


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(WATCH_SECONDS)
    os._exit(1)


def worker_pool(workers: int, warm_up: Callable[[], None] | None = None) -> ProcessPoolExecutor:
    """A process pool of ``workers`` single-threaded processes that do not outlive this one; each runs
    ``warm_up`` (picklable) before its first task."""
    return ProcessPoolExecutor(max_workers=workers, initializer=start_worker, initargs=(os.getpid(), warm_up))


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Shut ``pool`` down at once: workers never given work (still warming up) are terminated, not waited for.

    Call it once the pool's work is done or abandoned; a task still running is ended with its worker."""
    idle = list((pool._processes or {}).values())  # noqa: SLF001 - public only from Python 3.14 (terminate_workers)
    pool.shutdown(wait=False, cancel_futures=True)
    for process in idle:
        process.terminate()
    for process in idle:
        process.join()


def started_pool(workers: int, warm_up: Callable[[], None] | None = None) -> ProcessPoolExecutor:
    """``worker_pool`` with its processes started now rather than at the first real task."""
    pool = worker_pool(workers, warm_up)
    pool.submit(int)  # the first task forks every worker
    return pool
