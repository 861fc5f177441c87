"""The FastAPI app factory: the service (database, index, track facts, model) is opened once in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from soundalike import __version__
from soundalike.ingest.errors import (
    DecodeError,
    ForbiddenError,
    IndexMismatchError,
    NotFoundError,
    RateLimitedError,
    SoundalikeError,
    UnauthorizedError,
)
from soundalike.ingest.settings import Settings
from soundalike.recommend.api.auth import is_loopback, read_access
from soundalike.recommend.api.body_limit import BodyLimit
from soundalike.recommend.api.routes import admin, catalogue, listeners, similar, subsonic
from soundalike.recommend.service import Service

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_BODY_BYTES = 4 * 1024 * 1024
MULTIPART_SLACK = 64 * 1024
STATUS = {
    NotFoundError: 404,
    DecodeError: 422,
    IndexMismatchError: 409,
    UnauthorizedError: 401,
    ForbiddenError: 403,
    RateLimitedError: 429,
}


def _error(status: int, exc: Exception) -> JSONResponse:
    return JSONResponse({"error": str(exc), "type": type(exc).__name__}, status_code=status)


async def soundalike_error(_request: Request, exc: Exception) -> JSONResponse:
    """Known errors become 4xx JSON: unknown track/user 404, no or wrong credentials 401/403, bad input 422."""
    status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 422)
    response = _error(status, exc)
    if isinstance(exc, UnauthorizedError):
        response.headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, RateLimitedError):
        response.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    return response


async def value_error(_request: Request, exc: Exception) -> JSONResponse:
    """A value the ranking code refused is bad input, not a server fault."""
    return _error(422, exc)


def create_app(
    settings: Settings,
    *,
    service: Service | None = None,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    max_body_bytes: int = MAX_BODY_BYTES,
    host: str = "127.0.0.1",
) -> FastAPI:
    """The API; ``service`` is opened from ``settings`` at start-up unless one is given.

    Bodies are capped while they stream in: ``max_upload_bytes`` for audio uploads, ``max_body_bytes`` for
    the rest. ``host`` is the interface the server listens on: beyond loopback, reads need a key too unless
    ``settings.open_reads`` says otherwise.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = service or Service.open(settings)
        app.state.service = opened
        yield
        if service is None:
            opened.close()

    app = FastAPI(
        title="Soundalike",
        version=__version__,
        summary="Similar tracks, personalised playlists, sonic paths and OpenSubsonic sonicSimilarity.",
        lifespan=lifespan,
    )
    app.state.max_upload_bytes = max_upload_bytes
    app.state.anonymous_reads = settings.open_reads if settings.open_reads is not None else is_loopback(host)

    app.add_middleware(BodyLimit, body_bytes=max_body_bytes, upload_bytes=max_upload_bytes + MULTIPART_SLACK)
    app.add_exception_handler(SoundalikeError, soundalike_error)
    app.add_exception_handler(ValueError, value_error)
    app.include_router(catalogue.health_router)
    for module in (catalogue, similar, listeners, admin):
        app.include_router(module.router, dependencies=[Depends(read_access)])
    app.include_router(subsonic.router)
    return app
