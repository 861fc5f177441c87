"""Index administration: which generation is served, and a reload that swaps without dropping requests.

The reload needs an ``admin`` API key (or ``SOUNDALIKE_ADMIN_TOKEN``) as a bearer credential, refuses
cross-site requests, and starts at most once per ``reload_cooldown_s``.
"""

from __future__ import annotations

import os
import time
from typing import Any

from fastapi import APIRouter, Depends, Request

from soundalike.ingest.errors import RateLimitedError
from soundalike.recommend.api.auth import admin_access
from soundalike.recommend.api.deps import ServiceDep
from soundalike.recommend.api.schemas import IndexStateOut
from soundalike.recommend.service import Service

router = APIRouter(prefix="/index", tags=["admin"])


def reload_cooldown(request: Request, service: ServiceDep) -> None:
    """Refuse a reload asked for within ``reload_cooldown_s`` of the previous one (429 with Retry-After)."""
    now = time.monotonic()
    last: float | None = getattr(request.app.state, "last_reload", None)
    if last is not None and (wait := service.settings.reload_cooldown_s - (now - last)) > 0:
        raise RateLimitedError(f"index reload was started {now - last:.1f} s ago; try again later", wait)
    request.app.state.last_reload = now


def _state(service: Service) -> dict[str, Any]:
    served = service.index
    return {
        "generation": served.generation,
        "version": served.meta.version,
        "process": os.getpid(),
        "reloading": served.reloading,
        "indexed": served.meta.count,
        "live": served.current.live_count,
        "tracks": len(served.table),
        "factory": served.meta.factory,
        "model_version": served.meta.model_version,
        "last_error": served.last_error,
    }


@router.get("", response_model=IndexStateOut)
def index_state(service: ServiceDep) -> dict[str, Any]:
    """The generation being served (0 at start-up, +1 per swap), its size and whether a reload runs."""
    return _state(service)


@router.post(
    "/reload",
    response_model=IndexStateOut,
    status_code=202,
    dependencies=[Depends(admin_access), Depends(reload_cooldown)],
    responses={
        401: {"description": "Missing or wrong credential"},
        403: {"description": "Not an admin key, or a cross-site request"},
        429: {"description": "Asked again within the cooldown"},
    },
)
def reload_index(service: ServiceDep) -> dict[str, Any]:
    """Start bringing the index and track facts up to date with the database in the background; the current
    ones keep answering until the new ones are swapped in (poll ``GET /index`` for the generation)."""
    service.reload()
    return _state(service)
