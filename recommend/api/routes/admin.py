"""Index administration: which generation is served, and a reload that swaps without dropping requests."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from soundalike.recommend.api.deps import ServiceDep
from soundalike.recommend.api.schemas import IndexStateOut
from soundalike.recommend.service import Service

router = APIRouter(prefix="/index", tags=["admin"])


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


@router.post("/reload", response_model=IndexStateOut, status_code=202)
def reload_index(service: ServiceDep) -> dict[str, Any]:
    """Start bringing the index and track facts up to date with the database in the background; the current
    ones keep answering until the new ones are swapped in (poll ``GET /index`` for the generation)."""
    service.reload()
    return _state(service)
