"""Mood routes: the facets, a track's moods, curator review, and search by a description in words."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from soundalike.recommend.api.auth import write_access
from soundalike.recommend.api.deps import ServiceDep, SessionDep, TrackId
from soundalike.recommend.api.routes.similar import K, OptionsDep
from soundalike.recommend.api.schemas import MoodReviewIn, MoodsOut, ResultsOut, TrackMoodsOut
from soundalike.recommend.browse import review_track_mood, track_moods
from soundalike.recommend.defaults import DEFAULTS
from soundalike.recommend.describe import described

router = APIRouter(tags=["moods"])


@router.get("/moods", response_model=MoodsOut)
def moods(service: ServiceDep) -> dict[str, object]:
    """Every mood with how many tracks carry it and its calibrated threshold."""
    return {"moods": service.index.table.moods.facets()}


@router.get("/tracks/{track_id}/moods", response_model=TrackMoodsOut)
def moods_of_track(track_id: TrackId, service: ServiceDep) -> dict[str, object]:
    """The moods a track carries (calibrated facets, curator verdicts applied)."""
    return track_moods(service.index.table, track_id)


@router.post("/tracks/{track_id}/moods/review", response_model=TrackMoodsOut, dependencies=[Depends(write_access)])
def mood_review(track_id: TrackId, body: MoodReviewIn, service: ServiceDep, session: SessionDep) -> dict[str, object]:
    """A curator accepts or rejects a mood of a track, as `soundalike moods review` does; filters see it at once."""
    return review_track_mood(session, service.index.table, track_id, body.mood, accept=body.accept)


@router.get("/search", response_model=ResultsOut)
def search(
    service: ServiceDep,
    options: OptionsDep,
    describe: Annotated[
        str,
        Query(min_length=1, max_length=DEFAULTS.max_description_length, description='Moods in words: "mellow guitar".'),
    ],
    k: K = DEFAULTS.k,
) -> dict[str, object]:
    """Tracks ranked by how strongly they carry the moods the description names; a word naming no mood is a 422
    that lists the known moods."""
    return {"results": [r.as_dict() for r in described(service.index.table, describe, k, options)]}
