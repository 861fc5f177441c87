"""The FastAPI app factory: the service (database, index, track facts, model) is opened once in the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from soundalike.ingest.errors import (
    DecodeError,
    IndexMismatchError,
    InputError,
    NotFoundError,
    SoundalikeError,
    UnauthorizedError,
)
from soundalike.ingest.settings import Settings
from soundalike.recommend.api.routes import admin, listeners, similar, subsonic, tracks
from soundalike.recommend.service import Service

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MULTIPART_SLACK = 64 * 1024
CLIENT_ERRORS: dict[type[SoundalikeError], int] = {
    NotFoundError: 404,
    UnauthorizedError: 401,
    IndexMismatchError: 409,
    InputError: 422,
    DecodeError: 422,
}
log = logging.getLogger(__name__)


def _error(status: int, exc: Exception) -> JSONResponse:
    return JSONResponse({"error": str(exc), "type": type(exc).__name__}, status_code=status)


def internal_error() -> JSONResponse:
    """The answer to a fault of ours: a 500 that gives away nothing of the code."""
    return JSONResponse({"detail": "internal error", "type": "InternalError"}, status_code=500)


async def soundalike_error(request: Request, exc: Exception) -> JSONResponse:
    """What the caller got wrong becomes 4xx JSON (unknown track or user 404, no admin credentials 401, a stale
    index 409, bad input or undecodable audio 422); any other of our errors is a logged 500."""
    status = next((code for kind, code in CLIENT_ERRORS.items() if isinstance(exc, kind)), None)
    if status is None:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return internal_error()
    return _error(status, exc)


def create_app(
    settings: Settings, *, service: Service | None = None, max_upload_bytes: int = MAX_UPLOAD_BYTES
) -> FastAPI:
    """The API; ``service`` is opened from ``settings`` at start-up unless one is given."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = service or Service.open(settings)
        app.state.service = opened
        yield
        if service is None:
            opened.close()

    app = FastAPI(
        title="Soundalike",
        version="0.1.0",
        summary="Similar tracks, personalised playlists, sonic paths and OpenSubsonic sonicSimilarity.",
        lifespan=lifespan,
    )
    app.state.max_upload_bytes = max_upload_bytes

    @app.middleware("http")
    async def refuse_large_uploads(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        """Answer 413 from the declared length before reading an oversized upload."""
        length = request.headers.get("content-length", "")
        if request.method == "POST" and length.isdigit() and int(length) > max_upload_bytes + MULTIPART_SLACK:
            return JSONResponse(
                {"error": f"upload larger than {max_upload_bytes} bytes", "type": "PayloadTooLarge"}, status_code=413
            )
        return await call_next(request)

    @app.middleware("http")
    async def unexpected_errors(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        """Any exception no handler claimed is a fault of ours: logged with its traceback, answered 500 JSON."""
        try:
            return await call_next(request)
        except Exception:
            log.exception("%s %s failed", request.method, request.url.path)
            return internal_error()

    app.add_exception_handler(SoundalikeError, soundalike_error)
    for module in (tracks, similar, listeners, subsonic, admin):
        app.include_router(module.router)
    return app
