"""Track routes: list tracks, one track with its genres, curator genre review, the audio file, its cover art."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response

from soundalike.ingest.cover_art import track_cover
from soundalike.ingest.errors import NotFoundError
from soundalike.recommend.api.auth import write_access
from soundalike.recommend.api.deps import ServiceDep, SessionDep, TrackId
from soundalike.recommend.api.schemas import GenreReviewIn, GenreRowOut, TrackDetailOut, TrackPageOut
from soundalike.recommend.browse import MAX_PAGE, list_tracks, review_track_genre, track_detail, track_file
from soundalike.recommend.defaults import DEFAULTS

router = APIRouter(tags=["catalogue"])
COVER_CACHE = "private, max-age=86400"


@router.get("/tracks", response_model=TrackPageOut)
def tracks(
    service: ServiceDep,
    offset: Annotated[int, Query(ge=0, le=DEFAULTS.max_offset)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> dict[str, object]:
    """Playable tracks ordered by id, one page at a time."""
    return list_tracks(service.index.table, offset=offset, limit=limit)


@router.get("/tracks/{track_id}", response_model=TrackDetailOut)
def track(track_id: TrackId, session: SessionDep) -> dict[str, object]:
    """One track with every genre row (source, confidence, rejected)."""
    return track_detail(session, track_id)


@router.post("/tracks/{track_id}/genres/review", response_model=list[GenreRowOut], dependencies=[Depends(write_access)])
def genre_review(
    track_id: TrackId, body: GenreReviewIn, service: ServiceDep, session: SessionDep
) -> list[dict[str, object]]:
    """A curator accepts or rejects a genre of a track, as `soundalike genres review` does; ranking sees it at once."""
    return review_track_genre(session, service.index.table, track_id, body.genre, accept=body.accept)


@router.get(
    "/tracks/{track_id}/audio",
    response_class=FileResponse,
    responses={206: {"description": "The byte range asked for"}, 416: {"description": "Range not satisfiable"}},
)
def audio(track_id: TrackId, service: ServiceDep, session: SessionDep) -> FileResponse:
    """The track's audio file as stored; a ``Range`` request gets 206 with that part (players seek with it).
    404 when the file is no longer the one ingested: moved out of the library (a symlink) or changed."""
    path, info = track_file(session, track_id, follow_symlinks=service.settings.follow_symlinks)
    return FileResponse(path, stat_result=info)


@router.get(
    "/tracks/{track_id}/cover",
    response_class=Response,
    responses={200: {"content": {"image/*": {}}, "description": "The cover art"}, 304: {"description": "Unchanged"}},
)
def cover(track_id: TrackId, request: Request, service: ServiceDep, session: SessionDep) -> Response:
    """The track's cover art: a picture embedded in its file, else an image in its folder (``cover.jpg``...);
    cached by the browser for a day and revalidated by ETag; 404 when it has none."""
    path, info = track_file(session, track_id, follow_symlinks=service.settings.follow_symlinks)
    tag = f'"{track_id}-{info.st_size}-{info.st_mtime_ns}"'
    headers = {"Cache-Control": COVER_CACHE, "ETag": tag}
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers=headers)
    found = track_cover(path)
    if found is None:
        raise NotFoundError(f"track {track_id} has no cover art")
    return Response(found.data, media_type=found.media_type, headers=headers)
