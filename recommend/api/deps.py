"""Request dependencies: the service opened at start-up and a database session per route call."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from pydantic import Field
from sqlalchemy.orm import Session

from soundalike.ingest.db.models import MAX_ID
from soundalike.recommend.api.schemas import FilterQuery
from soundalike.recommend.filters import Filters
from soundalike.recommend.service import Service

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
TrackId = Annotated[int, Path(ge=1, le=MAX_ID, description="Catalogue track id.")]


def get_service(request: Request) -> Service:
    """The service the lifespan opened."""
    service: Service = request.app.state.service
    return service


def get_session(service: Annotated[Service, Depends(get_service)]) -> Iterator[Session]:
    """A session for the route alone: it takes a pooled connection at its first query and, as ``SessionDep``,
    is closed when the route returns, before the response is sent. It never commits: a write route commits
    (itself or in its service function) before it answers, so whatever is acknowledged is stored; anything else
    is rolled back."""
    session = service.factory()
    try:
        yield session
    finally:
        session.close()


def get_filters(query: Annotated[FilterQuery, Query()]) -> Filters:
    """Result filters from the query string; tracks with an unknown tempo/key/year fail a filter on it, an unknown
    mood is a 422 naming the known ones."""
    return Filters.build(**query.model_dump())


ServiceDep = Annotated[Service, Depends(get_service)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
FiltersDep = Annotated[Filters, Depends(get_filters)]
