"""The views of the web page (GET, read access): catalogue, track, review queue, listener, map, retraining."""

from __future__ import annotations

import re
from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, Response

from soundalike.embed.genre_edit import genre_counts
from soundalike.embed.review import genre_history, review_queue, reviewed_count
from soundalike.ingest.errors import InputError, NotFoundError
from soundalike.ingest.listening import get_user, user_events, user_names
from soundalike.ingest.names import MAX_USER_NAME
from soundalike.recommend.api.auth import read_access
from soundalike.recommend.api.deps import ServiceDep, SessionDep, TrackId
from soundalike.recommend.api_keys import Principal
from soundalike.recommend.browse import search_tracks, track_detail
from soundalike.recommend.defaults import DEFAULTS
from soundalike.recommend.facts import genre_rows_of
from soundalike.recommend.filters import Filters
from soundalike.recommend.m3u import m3u_bytes
from soundalike.recommend.mix_store import stored_mixes
from soundalike.recommend.path import sonic_path
from soundalike.recommend.playlist import playlist_for_user
from soundalike.recommend.similar import Options, similar_to_tracks
from soundalike.recommend.track_table import TrackTable
from soundalike.recommend.web.curation import shown_genres, undoable
from soundalike.recommend.web.embedding_map import embedding_map
from soundalike.recommend.web.reasons import interest_name, results_reasons, track_label
from soundalike.recommend.web.render import PAGE_PREFIX, STATIC_DIR, page
from soundalike.recommend.web.retrain import Retrainer

router = APIRouter(include_in_schema=False)
Who = Annotated[Principal | None, Depends(read_access)]
PAGE_SIZE = 25
SIMILAR = 10
SUGGESTIONS = 20
CACHE_A_DAY = "public, max-age=86400"
Text = Annotated[str, Query(max_length=MAX_USER_NAME)]


def number(name: str, text: str) -> float | None:
    """A form field as a number; an empty field is None."""
    if not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        raise InputError(f"{name} must be a number, got {text!r}") from None


@router.get("/", response_class=HTMLResponse)
def catalogue(
    request: Request,
    who: Who,
    service: ServiceDep,
    session: SessionDep,
    q: Text = "",
    genre: Text = "",
    key: Text = "",
    tempo_min: Text = "",
    tempo_max: Text = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=DEFAULTS.max_page)] = 1,
) -> Response:
    """Search by title, artist, album or path, filter by genre, tempo and key, a page at a time."""
    table = service.index.table
    filters = Filters.build(
        genres=[genre], keys=[key], tempo_min=number("tempo_min", tempo_min), tempo_max=number("tempo_max", tempo_max)
    )
    total, tracks = search_tracks(table, q, filters, offset=(page_number - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    if page_number > pages:
        page_number = pages
        total, tracks = search_tracks(table, q, filters, offset=(page_number - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    query = {"q": q, "genre": genre, "key": key, "tempo_min": tempo_min, "tempo_max": tempo_max}
    return page(
        request,
        "catalogue.html",
        who,
        tracks=tracks,
        shown={t: shown_genres(rows) for t, rows in genre_rows_of(session, [t.track_id for t in tracks]).items()},
        total=total,
        page_number=page_number,
        pages=pages,
        query=query,
        genres=sorted({g for genres in table.genres for g in genres}),
        keys=sorted(table.key_names),
    )


@router.get(PAGE_PREFIX + "/tracks/{track_id}", response_class=HTMLResponse)
def track(request: Request, track_id: TrackId, who: Who, service: ServiceDep, session: SessionDep) -> Response:
    """One track: player, tags, tempo, key, genres by source with review buttons, similar tracks with reasons."""
    detail = track_detail(session, track_id)
    history = genre_history(session, track_id)
    try:
        similar, similar_error = (
            similar_to_tracks(session, service.index, [track_id], SIMILAR, Options()),
            None,
        )
    except NotFoundError as exc:
        similar, similar_error = [], str(exc)
    return page(
        request,
        "track.html",
        who,
        track=detail,
        similar=similar,
        similar_error=similar_error,
        reasons=results_reasons(similar, service.index.table, {}),
        shown=shown_genres(detail["genre_rows"]),
        history=history,
        undoable=undoable(history),
    )


@router.get(PAGE_PREFIX + "/review", response_class=HTMLResponse)
def review(
    request: Request, who: Who, session: SessionDep, skip: Annotated[int, Query(ge=0, le=DEFAULTS.max_offset)] = 0
) -> Response:
    """The next predicted genre to review, least confident first; ``skip`` passes over ones left for later."""
    remaining, items = review_queue(session, offset=skip, limit=1)
    item = items[0] if items else None
    detail = track_detail(session, item[0]) if item else None
    return page(
        request,
        "review.html",
        who,
        item=item,
        track=detail,
        skip=skip,
        remaining=remaining,
        reviewed=reviewed_count(session),
        job=request.app.state.retrainer.latest(),
    )


@router.get(PAGE_PREFIX + "/jobs/{job_id}", response_class=HTMLResponse)
def job(request: Request, job_id: Annotated[int, PathParam(ge=1, le=DEFAULTS.max_job_id)], who: Who) -> Response:
    """Progress of a retraining job; the page refreshes itself until the job is finished."""
    retrainer: Retrainer = request.app.state.retrainer
    found = retrainer.jobs.get(job_id)
    if found is None:
        raise NotFoundError(f"no retraining job {job_id}")
    return page(request, "job.html", who, job=found)


def find_track(table: TrackTable, text: str) -> int:
    """The track a listener named by title (as the suggestions write it, "Title by Artist", or a part of it)."""
    wanted = text.strip()
    title = wanted.rsplit(" by ", 1)[0] if " by " in wanted else wanted
    _, found = search_tracks(table, title, Filters(), offset=0, limit=DEFAULTS.max_results)
    if not found:
        raise NotFoundError(f"no track is called {wanted!r}")
    exact = [f.track_id for f in found if track_label(table, f.track_id).casefold() == wanted.casefold()]
    return exact[0] if exact else found[0].track_id


@router.get(PAGE_PREFIX + "/suggest")
def suggest(who: Who, service: ServiceDep, q: Text = "") -> list[str]:
    """Tracks whose title, artist or album holds ``q``, as "Title by Artist" (what the path's boxes suggest)."""
    table = service.index.table
    _, found = search_tracks(table, q, Filters(), offset=0, limit=SUGGESTIONS) if q.strip() else (0, [])
    return [track_label(table, f.track_id) for f in found]


@router.get(PAGE_PREFIX + "/listener", response_class=HTMLResponse)
def listener(
    request: Request,
    who: Who,
    service: ServiceDep,
    session: SessionDep,
    user: Text = "",
    start: Text = "",
    end: Text = "",
    steps: Annotated[int, Query(ge=2, le=DEFAULTS.max_path_steps)] = DEFAULTS.path_steps,
) -> Response:
    """A listener's playlist with its reasons and named interests; a sonic path between two tracks found by title."""
    table = service.index.table
    playlist = playlist_for_user(session, service.index, user) if user else None
    events = user_events(session, get_user(session, user).id) if user else []
    plays = Counter(t for t, _, skipped in events if not skipped)
    path = None
    if start.strip() and end.strip():
        path = sonic_path(session, service.index, find_track(table, start), find_track(table, end), steps)
    interests = [
        {"name": interest_name(table, i["members"]), "weight": i["weight"], "tracks": i["tracks"]}
        for i in (playlist.interests if playlist else [])
    ]
    return page(
        request,
        "listener.html",
        who,
        users=user_names(session),
        user=user,
        playlist=playlist,
        interests=interests,
        reasons=results_reasons([*(playlist.results if playlist else []), *(path or [])], table, plays),
        path=path,
        start=start,
        end=end,
        steps=steps,
    )


def file_name(user: str) -> str:
    """A listener's name made safe as a file name ("ann's mix" -> "playlist-ann-s-mix")."""
    return "playlist-" + (re.sub(r"[^A-Za-z0-9_.]+", "-", user).strip("-.") or "listener")


@router.get(PAGE_PREFIX + "/listener/playlist.m3u")
def playlist_m3u(
    who: Who, service: ServiceDep, session: SessionDep, user: Annotated[str, Query(max_length=MAX_USER_NAME)]
) -> Response:
    """The listener's playlist as an extended M3U file to download."""
    playlist = playlist_for_user(session, service.index, user)
    return Response(
        m3u_bytes(playlist.results),
        media_type="audio/x-mpegurl",
        headers={"Content-Disposition": f'attachment; filename="{file_name(playlist.user)}.m3u"'},
    )


@router.get(PAGE_PREFIX + "/genres", response_class=HTMLResponse)
def genres(request: Request, who: Who, session: SessionDep) -> Response:
    """Every genre with its rows by source, each to rename, merge or delete (after a preview)."""
    return page(request, "genres.html", who, genres=genre_counts(session))


@router.get(PAGE_PREFIX + "/mixes", response_class=HTMLResponse)
def mixes(request: Request, who: Who, session: SessionDep) -> Response:
    """The stored mixes of the library, each to play in the page's player or download as M3U."""
    found = [(mix_id, name, len(tracks)) for mix_id, name, tracks in stored_mixes(session)]
    return page(request, "mixes.html", who, mixes=found)


@router.get(PAGE_PREFIX + "/map", response_class=HTMLResponse)
def catalogue_map(request: Request, who: Who, service: ServiceDep, session: SessionDep) -> Response:
    """The catalogue's embeddings on their two principal axes, coloured by genre; a click opens the track."""
    points, colours = embedding_map(session, service.index.table, service.model.name)
    return page(request, "map.html", who, points=points, colours=colours)


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> FileResponse:
    """The site's icon (browsers ask for it at this address whatever the page says)."""
    return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml", headers={"Cache-Control": CACHE_A_DAY})
