"""The FastAPI app factory: the service (database, index, track facts, model) is opened once in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from soundalike.ingest.device import resolve_device
from soundalike.ingest.errors import (
    DecodeError,
    IndexMismatchError,
    NotFoundError,
    SoundalikeError,
    UnauthorizedError,
)
from soundalike.ingest.settings import Settings
from soundalike.recommend.api.routes import admin, catalogue, listeners, similar, subsonic
from soundalike.recommend.service import Service

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MULTIPART_SLACK = 64 * 1024
STATUS = {NotFoundError: 404, DecodeError: 422, IndexMismatchError: 409, UnauthorizedError: 401}


def _error(status: int, exc: Exception) -> JSONResponse:
    return JSONResponse({"error": str(exc), "type": type(exc).__name__}, status_code=status)


async def soundalike_error(_request: Request, exc: Exception) -> JSONResponse:
    """Known errors become 4xx JSON: unknown track/user 404, no admin credentials 401, bad input 422."""
    status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 422)
    return _error(status, exc)


async def value_error(_request: Request, exc: Exception) -> JSONResponse:
    """A value the ranking code refused is bad input, not a server fault."""
    return _error(422, exc)


def create_app(
    settings: Settings, *, service: Service | None = None, max_upload_bytes: int = MAX_UPLOAD_BYTES
) -> FastAPI:
    """The API; ``service`` is opened from ``settings`` at start-up (on the device they resolve to) unless given."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = service or Service.open(settings, device=resolve_device(settings.device))
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

    app.add_exception_handler(SoundalikeError, soundalike_error)
    app.add_exception_handler(ValueError, value_error)
    for module in (catalogue, similar, listeners, subsonic, admin):
        app.include_router(module.router)
    return app
