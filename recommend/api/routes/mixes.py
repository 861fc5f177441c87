"""Mix routes: the stored mixes, one mix's tracks in listening order, and its M3U playlist."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response

from soundalike.ingest.db.models import MAX_ID
from soundalike.recommend.api.deps import ServiceDep, SessionDep
from soundalike.recommend.api.schemas import MixesOut, MixOut
from soundalike.recommend.m3u import m3u_bytes
from soundalike.recommend.mix_store import mix_results, stored_mixes

router = APIRouter(tags=["mixes"])
MixId = Annotated[int, Path(ge=1, le=MAX_ID, description="Mix id.")]


@router.get("/mixes", response_model=MixesOut)
def mixes(session: SessionDep) -> dict[str, object]:
    """Every stored mix with its name and size (refreshed after an ingest and by `soundalike mixes refresh`)."""
    return {"mixes": [{"id": i, "name": name, "size": len(tracks)} for i, name, tracks in stored_mixes(session)]}


@router.get(
    "/mixes/{mix_id}.m3u",
    response_class=Response,
    responses={200: {"content": {"audio/x-mpegurl": {}}, "description": "The mix as an extended M3U playlist."}},
)
def mix_m3u(mix_id: MixId, service: ServiceDep, session: SessionDep) -> Response:
    """The mix as an extended M3U playlist, in listening order."""
    _, results = mix_results(session, service.index.table, mix_id)
    return Response(m3u_bytes(results), media_type="audio/x-mpegurl")


@router.get("/mixes/{mix_id}", response_model=MixOut)
def mix(mix_id: MixId, service: ServiceDep, session: SessionDep) -> dict[str, object]:
    """One mix: its name and its tracks in listening order."""
    name, results = mix_results(session, service.index.table, mix_id)
    return {"id": mix_id, "name": name, "tracks": [r.as_dict() for r in results]}
