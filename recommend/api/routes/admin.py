"""Index administration: which generation is served, and a reload that swaps without dropping requests.

The reload needs ``Authorization: Bearer <SOUNDALIKE_ADMIN_TOKEN>``; with no token configured it is
accepted from loopback clients only, so a server exposed on a network cannot be made to rebuild.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from soundalike.ingest.errors import UnauthorizedError
from soundalike.recommend.api.deps import ServiceDep
from soundalike.recommend.api.schemas import IndexStateOut
from soundalike.recommend.service import Service

router = APIRouter(prefix="/index", tags=["admin"])
bearer = HTTPBearer(auto_error=False, description="SOUNDALIKE_ADMIN_TOKEN; without one, loopback clients only.")
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def require_admin(
    request: Request,
    service: ServiceDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """Let the request through with the configured bearer token, or from loopback when none is configured."""
    token = service.settings.admin_token
    if token is None:
        if request.client is None or request.client.host not in LOOPBACK:
            raise UnauthorizedError("index reload is allowed from loopback only unless SOUNDALIKE_ADMIN_TOKEN is set")
        return
    given = credentials.credentials if credentials is not None else ""
    if not secrets.compare_digest(given.encode(), token.get_secret_value().encode()):
        raise UnauthorizedError("index reload needs 'Authorization: Bearer <SOUNDALIKE_ADMIN_TOKEN>'")


def _state(service: Service) -> dict[str, Any]:
    served = service.index
    return {
        "generation": served.generation,
        "reloading": served.reloading,
        "indexed": served.meta.count,
        "live": served.live.current.live_count,
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
    dependencies=[Depends(require_admin)],
    responses={401: {"description": "Missing or wrong admin token"}},
)
def reload_index(service: ServiceDep) -> dict[str, Any]:
    """Start bringing the index and track facts up to date with the database in the background; the current
    ones keep answering until the new ones are swapped in (poll ``GET /index`` for the generation)."""
    service.reload()
    return _state(service)
