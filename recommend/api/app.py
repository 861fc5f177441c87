"""The FastAPI app factory: the service (database, index, track facts, model) is opened once in the lifespan."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from http import HTTPStatus

from anyio import to_thread
from fastapi import Depends, FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException

from soundalike import __version__
from soundalike.ingest.device import resolve_device
from soundalike.ingest.errors import (
    AccessError,
    DecodeError,
    ForbiddenError,
    IndexMismatchError,
    InputError,
    NotFoundError,
    PreconditionError,
    RateLimitedError,
    SoundalikeError,
    UnauthorizedError,
)
from soundalike.ingest.settings import Settings
from soundalike.recommend.api.auth import is_loopback, read_access
from soundalike.recommend.api.body_limit import BodyLimit
from soundalike.recommend.api.load_shed import RETRY_AFTER_S, LoadShed
from soundalike.recommend.api.routes import admin, health, listeners, mixes, moods, radio, similar, subsonic, tracks
from soundalike.recommend.api.subsonic_envelope import SubsonicError, subsonic_error
from soundalike.recommend.api.trusted_hosts import TrustedHosts
from soundalike.recommend.health import DatabaseCheck, Health
from soundalike.recommend.media_server import PathMap
from soundalike.recommend.service import Service
from soundalike.recommend.web.render import error_page, is_page, plain_errors
from soundalike.recommend.web.site import install_web

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_BODY_BYTES = 4 * 1024 * 1024
MULTIPART_SLACK = 64 * 1024
SPARE_THREADS = 8
FRAMED = frozenset({"content-length", "content-type"})
CLIENT_ERRORS: dict[type[SoundalikeError], int] = {
    NotFoundError: 404,
    UnauthorizedError: 401,
    ForbiddenError: 403,
    IndexMismatchError: 409,
    PreconditionError: 409,
    InputError: 422,
    DecodeError: 422,
    RateLimitedError: 429,
}
log = logging.getLogger(__name__)


def _error(status: int, exc: Exception) -> JSONResponse:
    return JSONResponse({"error": str(exc), "type": type(exc).__name__}, status_code=status)


def internal_error(request: Request) -> Response:
    """The answer to a fault of ours: a 500 that gives away nothing of the code."""
    if is_page(request):
        return error_page(request, 500, "internal error: the server log has the details")
    return JSONResponse(
        {"error": "internal error", "type": "InternalError", "detail": "internal error"}, status_code=500
    )


def database_unavailable(request: Request) -> Response:
    """The answer when the database cannot be read or written, or has no free connection in time: 503 with
    ``Retry-After``, the request may succeed later (a write answered so was not stored)."""
    if is_page(request):
        response = error_page(request, 503, "the database is unavailable; try again later")
    else:
        response = JSONResponse(
            {"error": "the database is unavailable", "type": "DatabaseUnavailable"}, status_code=503
        )
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def with_error_and_type(response: Response, error: str, kind: str) -> Response:
    """FastAPI's JSON error ``response`` with ``error`` and ``type`` added, as every other API error has them."""
    body = json.loads(bytes(response.body))
    refused = JSONResponse({"error": error, "type": kind, **body}, status_code=response.status_code)
    refused.headers.update({k: v for k, v in response.headers.items() if k.lower() not in FRAMED})
    return refused


async def http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths, wrong methods and the like: an HTML page for the web page, JSON for the API (FastAPI's
    ``detail`` with ``error`` and a ``type`` named after the status)."""
    if not isinstance(exc, HTTPException):
        raise exc
    if is_page(request):
        return error_page(request, exc.status_code, str(exc.detail))
    kind = "".join(HTTPStatus(exc.status_code).phrase.split())
    return with_error_and_type(await http_exception_handler(request, exc), str(exc.detail), kind)


async def validation_error(request: Request, exc: Exception) -> Response:
    """A malformed request: 422, an HTML page in plain words for the web page, JSON for the API (FastAPI's
    ``detail`` list with ``error`` naming the fields and ``type`` ``ValidationError``)."""
    if not isinstance(exc, RequestValidationError):
        raise exc
    if is_page(request):
        return error_page(request, 422, plain_errors(exc.errors()))
    fields = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
    response = await request_validation_exception_handler(request, exc)
    return with_error_and_type(response, f"the request was not understood ({fields})", "ValidationError")


async def soundalike_error(request: Request, exc: Exception) -> Response:
    """What the caller got wrong becomes 4xx JSON (unknown track or user 404, no or wrong credential 401, a
    credential without the scope or a cross-site write 403, a stale index or an unmet precondition 409, bad
    input or undecodable audio 422, too soon 429); any other of our errors is a logged 500."""
    status = next((code for kind, code in CLIENT_ERRORS.items() if isinstance(exc, kind)), None)
    if status is None:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return internal_error(request)
    needs = exc.needs if isinstance(exc, AccessError) else None
    response = error_page(request, status, str(exc), needs=needs) if is_page(request) else _error(status, exc)
    if isinstance(exc, UnauthorizedError):
        response.headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, RateLimitedError):
        response.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    return response


def create_app(
    settings: Settings,
    *,
    service: Service | None = None,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    max_body_bytes: int = MAX_BODY_BYTES,
    host: str = "127.0.0.1",
) -> FastAPI:
    """The API; ``service`` is opened from ``settings`` at start-up (on the device they resolve to) unless given.

    Bodies are capped while they stream in: ``max_upload_bytes`` for audio uploads, ``max_body_bytes`` for
    the rest. A server process works on ``settings.max_requests`` requests at once (a thread each, with
    ``SPARE_THREADS`` left for ``/health``) and sheds the rest beyond a bounded line. ``host`` is the interface
    the server listens on: beyond loopback, reads need a key too unless ``settings.open_reads`` says otherwise.
    Requests are answered only for a ``Host`` that is loopback, ``host`` or one of ``settings.allowed_hosts``.
    A service opened here follows the index other processes publish (every ``settings.index_watch_s`` seconds;
    0 turns that off). While it runs, the database's integrity and writability are checked every
    ``settings.health_check_s`` seconds for ``/health``.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        to_thread.current_default_thread_limiter().total_tokens = settings.max_requests + SPARE_THREADS
        opened = service or Service.open(settings, device=resolve_device(settings.device))
        if service is None and settings.index_watch_s > 0:
            opened.follow_published(settings.index_watch_s)
        app.state.service = opened
        app.state.health.database.start(settings.health_check_s)
        yield
        app.state.health.database.close()
        app.state.retrainer.close()
        if service is None:
            opened.close()

    app = FastAPI(
        title="Soundalike",
        version=__version__,
        summary="Similar tracks, playlists, sonic paths, OpenSubsonic sonicSimilarity; a web page at /.",
        lifespan=lifespan,
    )
    app.state.max_upload_bytes = max_upload_bytes
    app.state.anonymous_reads = settings.open_reads if settings.open_reads is not None else is_loopback(host)
    app.state.subsonic_path_map = PathMap.parse(settings.subsonic_path_map)
    app.state.health = Health(DatabaseCheck(settings.db_url))

    app.add_middleware(BodyLimit, body_bytes=max_body_bytes, upload_bytes=max_upload_bytes + MULTIPART_SLACK)

    @app.middleware("http")
    async def unexpected_errors(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        """Any exception no handler claimed is a fault: an unreadable database is a 503, anything else is logged
        with its traceback and answered 500 JSON."""
        try:
            return await call_next(request)
        except SQLAlchemyError:
            log.exception("%s %s: database error", request.method, request.url.path)
            return database_unavailable(request)
        except Exception:
            log.exception("%s %s failed", request.method, request.url.path)
            return internal_error(request)

    app.add_middleware(
        LoadShed, running=settings.max_requests, waiting=settings.max_waiting, wait_s=settings.queue_wait_s
    )
    app.add_middleware(TrustedHosts, names=[host, *settings.allowed_host_names])

    app.add_exception_handler(SoundalikeError, soundalike_error)
    app.add_exception_handler(SubsonicError, subsonic_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.include_router(health.router)
    for module in (tracks, similar, moods, mixes, listeners, radio, admin):
        app.include_router(module.router, dependencies=[Depends(read_access)])
    app.include_router(subsonic.router)
    install_web(app)
    return app
