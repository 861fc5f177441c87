"""``soundalike serve``: the web page and the HTTP API under uvicorn."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from soundalike.cli.app import app
from soundalike.cli.output import State

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port.")] = 8000,
    max_upload_mb: Annotated[float, typer.Option(min=0.01, help="Largest accepted audio upload.")] = 20.0,
    compute_threads: Annotated[
        int, typer.Option(min=1, help="BLAS/OpenMP threads per request (requests already run in parallel).")
    ] = 1,
) -> None:
    """Serve the web page at /, the recommendation API (OpenAPI docs at /docs) and OpenSubsonic under /rest/."""
    for variable in THREAD_VARIABLES:  # read once when numpy/faiss load, which happens below
        os.environ.setdefault(variable, str(compute_threads))
    import uvicorn

    from soundalike.recommend.api.app import create_app

    api = create_app(State.settings(), max_upload_bytes=int(max_upload_mb * 1024 * 1024), host=host)
    uvicorn.run(api, host=host, port=port, log_level="warning")
