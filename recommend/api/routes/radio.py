"""Radio routes: start a session, ask for its next tracks, tell it what was played or skipped."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam

from soundalike.recommend.api.auth import write_access
from soundalike.recommend.api.deps import ServiceDep, SessionDep
from soundalike.recommend.api.schemas import RadioFeedbackIn, RadioFeedbackOut, RadioIn, RadioOut, RadioTracksOut
from soundalike.recommend.defaults import DEFAULTS
from soundalike.recommend.radio_sessions import next_tracks, record_feedback, start_radio

router = APIRouter(prefix="/radio", tags=["radio"])
SessionId = Annotated[str, PathParam(min_length=1, max_length=DEFAULTS.max_session_id_length)]


@router.post("", response_model=RadioOut, status_code=201, dependencies=[Depends(write_access)])
def start(body: RadioIn, service: ServiceDep, session: SessionDep) -> dict[str, object]:
    """Start a radio from seed tracks and/or a listener; answers its id and first tracks."""
    radio_id, results = start_radio(session, service.index, seeds=body.seeds, user=body.user, n=body.n)
    session.commit()
    return {"session": radio_id, "tracks": [r.as_dict() for r in results]}


@router.get("/{radio}/next", response_model=RadioTracksOut)
def next_(
    radio: SessionId,
    service: ServiceDep,
    session: SessionDep,
    n: Annotated[int, Query(ge=1, le=DEFAULTS.max_results)] = 1,
) -> dict[str, object]:
    """The radio's next ``n`` tracks, steered by the feedback so far; never a track it served before."""
    served = next_tracks(session, service.index, radio, n)
    session.commit()
    return {"tracks": [r.as_dict() for r in served]}


@router.post("/{radio}/feedback", response_model=RadioFeedbackOut, dependencies=[Depends(write_access)])
def feedback(radio: SessionId, body: RadioFeedbackIn, session: SessionDep) -> dict[str, object]:
    """Tell the radio a served track was played through or skipped at ``position_s``."""
    stored = record_feedback(session, radio, body.track_id, body.event, body.position_s)
    session.commit()
    return stored.as_dict()
