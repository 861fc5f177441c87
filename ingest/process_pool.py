"""Worker process pools whose workers die with the process that started them, even on SIGKILL, and run
single-threaded native code.

A killed ingest must not leave decoding processes behind holding memory and the database file. On Linux
each worker asks the kernel for SIGKILL when its parent dies (``PR_SET_PDEATHSIG``); elsewhere a daemon
thread in the worker watches its parent's pid.

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


def start_worker(parent_pid: int) -> None:
    """Worker initialiser: die with ``parent_pid`` and keep native thread pools to one thread."""
    die_with_parent(parent_pid)
    threadpool_limits(limits=1)


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(WATCH_SECONDS)
    os._exit(1)


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool of ``workers`` single-threaded processes that do not outlive this one."""
    return ProcessPoolExecutor(max_workers=workers, initializer=start_worker, initargs=(os.getpid(),))
