"""The health route: answers within a second, whatever the request pool is doing."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from soundalike.recommend.api.load_shed import RETRY_AFTER_S
from soundalike.recommend.api.schemas import HealthOut
from soundalike.recommend.health import Health
from soundalike.recommend.service import Service

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthOut, responses={503: {"model": HealthOut}})
async def health(request: Request, response: Response) -> dict[str, Any]:
    """``ok`` with the model and index size; 503 ``degraded`` with the problems when the database does not answer,
    is damaged or refuses writes, or the saved index cannot be read (the index in memory keeps serving)."""
    checks: Health = request.app.state.health
    service: Service = request.app.state.service
    problems = await checks.problems(service)
    if problems:
        response.status_code = 503
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
    meta = service.index.meta
    return {
        "status": "degraded" if problems else "ok",
        "model": meta.model_name,
        "indexed": meta.count,
        "problems": problems,
    }
