"""``soundalike serve``: the web page and the HTTP API under uvicorn, in one process or ``--workers`` processes."""

from __future__ import annotations

import json
import os
import resource
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from soundalike.cli.app import app
from soundalike.cli.output import JsonOption, State, emit, stderr

if TYPE_CHECKING:
    from fastapi import FastAPI

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
SERVE_OPTIONS = "SOUNDALIKE_SERVE_OPTIONS"
MAX_CONNECTIONS = 2048
KEEP_ALIVE_S = 5
MAX_HEADER_BYTES = 16 * 1024
SHUTDOWN_S = 10


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Server processes sharing the port; each follows the published index.")
    ] = 1,
    max_upload_mb: Annotated[float, typer.Option(min=0.01, help="Largest accepted audio upload.")] = 20.0,
    as_json: JsonOption = False,
    compute_threads: Annotated[
        int, typer.Option(min=1, help="BLAS/OpenMP threads per request (requests already run in parallel).")
    ] = 1,
) -> None:
    """Serve the web page at /, the recommendation API (OpenAPI docs at /docs) and OpenSubsonic under /rest/."""
    for variable in THREAD_VARIABLES:  # read once when numpy/faiss load, in each server process
        os.environ.setdefault(variable, str(compute_threads))
    settings = State.settings()  # checks the settings once here, before any worker starts
    from soundalike.cli.serve_checks import check_can_serve

    check_can_serve(settings, host, port)
    address = f"http://{host}:{port}"
    emit({"serving": address, "workers": workers}, as_json, lambda: stderr.print(f"serving on {address}"))
    sys.stdout.flush()
    os.environ["SOUNDALIKE_HOME"] = str(settings.home.absolute())
    os.environ["SOUNDALIKE_WORKERS"] = str(workers)  # each process takes its share of the database connections
    os.environ[SERVE_OPTIONS] = json.dumps({"max_upload_bytes": int(max_upload_mb * 1024 * 1024), "host": host})
    import uvicorn

    uvicorn.run(
        "soundalike.cli.serve:server_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        limit_concurrency=connection_limit(),
        timeout_keep_alive=KEEP_ALIVE_S,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        timeout_graceful_shutdown=SHUTDOWN_S,
    )


def connection_limit() -> int:
    """Open connections one process takes before uvicorn answers its own 503 (without Retry-After): a guard
    against floods, far above what the app sheds first with Retry-After, and within the open-file limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(64, min(MAX_CONNECTIONS, soft - 64))


def server_app() -> FastAPI:
    """The API of one server process, on the settings and options ``serve`` left in the environment."""
    from soundalike.ingest.settings import load_settings
    from soundalike.recommend.api.app import create_app

    options = json.loads(os.environ.get(SERVE_OPTIONS, "{}"))
    return create_app(load_settings(), **options)
