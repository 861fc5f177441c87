"""Listener routes: playlists, listening events, sonic paths."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam

from soundalike.ingest.listening import erase_user, record_events
from soundalike.ingest.names import MAX_USER_NAME
from soundalike.recommend.api.auth import write_access
from soundalike.recommend.api.deps import FiltersDep, Id, ServiceDep, SessionDep
from soundalike.recommend.api.schemas import (
    EventsDeletedOut,
    EventsIn,
    EventsOut,
    PlaylistOut,
    PlaylistQuery,
    ResultsOut,
)
from soundalike.recommend.defaults import DEFAULTS
from soundalike.recommend.path import sonic_path
from soundalike.recommend.playlist import PlaylistOptions, playlist_for_user

router = APIRouter(tags=["listeners"])


@router.get("/users/{user}/playlist", response_model=PlaylistOut)
def playlist(
    user: Annotated[str, PathParam(max_length=MAX_USER_NAME)],
    service: ServiceDep,
    session: SessionDep,
    filters: FiltersDep,
    shape: Annotated[PlaylistQuery, Query()],
) -> dict[str, object]:
    """A playlist for the user: their interests interleaved, heard tracks left out, or a stated cold start."""
    options = PlaylistOptions(**shape.model_dump(), filters=filters)
    return playlist_for_user(session, service.index, user, options).as_dict()


@router.post("/users/{user}/events", response_model=EventsOut, status_code=201, dependencies=[Depends(write_access)])
def add_events(
    user: Annotated[str, PathParam(min_length=1, max_length=MAX_USER_NAME)], body: EventsIn, session: SessionDep
) -> dict[str, int]:
    """Record plays of the user (skips included), stored before the answer; repeats of a stored play are counted,
    not stored."""
    rows = [(e.track_id, e.played_at, e.ms_played, e.skipped) for e in body.events]
    counts = record_events(session, user, rows)
    session.commit()
    return counts


@router.delete("/users/{user}/events", response_model=EventsDeletedOut, dependencies=[Depends(write_access)])
def delete_events(
    user: Annotated[str, PathParam(min_length=1, max_length=MAX_USER_NAME)], session: SessionDep
) -> dict[str, object]:
    """Erase the user and every listening event of theirs, stored before the answer; 404 when the user is
    unknown."""
    deleted = erase_user(session, user)
    session.commit()
    return {"user": user, "deleted": deleted}


@router.get("/path", response_model=ResultsOut)
def path(
    service: ServiceDep,
    session: SessionDep,
    start: Annotated[Id, Query()],
    end: Annotated[Id, Query()],
    steps: Annotated[int, Query(ge=2, le=DEFAULTS.max_path_steps)] = DEFAULTS.path_steps,
) -> dict[str, object]:
    """A smooth sonic path from ``start`` to ``end`` in ``steps`` tracks, no track twice."""
    return {"results": [r.as_dict() for r in sonic_path(session, service.index, start, end, steps)]}
