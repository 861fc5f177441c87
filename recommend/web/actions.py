"""What the web page changes (POST forms): curator reviews and retraining need a write key; sign-in and
sign-out keep or drop the key in an HttpOnly, SameSite=Strict cookie. Cross-site posts are refused."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from soundalike.embed.genre_edit import plan_genre_change
from soundalike.ingest.db.models import MAX_ID
from soundalike.ingest.errors import InputError, UnauthorizedError
from soundalike.ingest.names import MAX_GENRE_NAME
from soundalike.ingest.repository import find_genre
from soundalike.recommend.api.auth import KEY_COOKIE, identify, refuse_cross_site, write_access
from soundalike.recommend.api.deps import ServiceDep, SessionDep, TrackId
from soundalike.recommend.api_keys import Principal
from soundalike.recommend.browse import change_genre, review_track_genre, track_detail, undo_genre_decision
from soundalike.recommend.defaults import DEFAULTS
from soundalike.recommend.web.curation import near_matches
from soundalike.recommend.web.render import PAGE_PREFIX, page
from soundalike.recommend.web.retrain import Retrainer

router = APIRouter(include_in_schema=False)
COOKIE_DAYS = 30
NextForm = Annotated[str, Form(alias="next", max_length=DEFAULTS.max_next_page_length)]
NextPage = Annotated[str, Query(alias="next", max_length=DEFAULTS.max_next_page_length)]


def local(target: str, fallback: str) -> str:
    """``target`` when it is a path on this site, else ``fallback`` (a form cannot send the browser elsewhere)."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else fallback


def see(target: str) -> RedirectResponse:
    """Send the browser on to ``target`` with a GET (post/redirect/get)."""
    return RedirectResponse(target, status_code=303)


@router.post(PAGE_PREFIX + "/tracks/{track_id}/review")
def review(
    request: Request,
    track_id: TrackId,
    service: ServiceDep,
    session: SessionDep,
    genre: Annotated[str, Form(min_length=1, max_length=MAX_GENRE_NAME)],
    verdict: Annotated[Literal["accept", "reject"], Form()],
    who: Annotated[Principal | None, Depends(write_access)],
    next_page: NextForm = "",
    confirm: Annotated[bool, Form()] = False,
) -> Response:
    """Accept or reject a genre of a track, or set another: the same operation as the API and `genres review`.
    A genre no track has yet is only created once confirmed, after the curator has seen its near matches."""
    back = local(next_page, f"{PAGE_PREFIX}/tracks/{track_id}")
    if find_genre(session, genre) is None and not confirm:
        known = {g for genres in service.index.table.genres for g in genres}
        return page(
            request,
            "confirm_genre.html",
            who,
            track=track_detail(session, track_id),
            genre=genre.strip(),
            near=near_matches(genre.strip(), known),
            back=back,
        )
    review_track_genre(session, service.index.table, track_id, genre, accept=verdict == "accept")
    return see(back)


@router.post(PAGE_PREFIX + "/decisions/{decision_id}/undo", dependencies=[Depends(write_access)])
def undo(
    decision_id: Annotated[int, PathParam(ge=1, le=MAX_ID)],
    service: ServiceDep,
    session: SessionDep,
    next_page: NextForm = "",
) -> Response:
    """Undo a curator's genre decision: the track's genre goes back to what it was before."""
    track_id = undo_genre_decision(session, service.index.table, decision_id)
    return see(local(next_page, f"{PAGE_PREFIX}/tracks/{track_id}"))


@router.post(PAGE_PREFIX + "/genres/change")
def change(
    request: Request,
    service: ServiceDep,
    session: SessionDep,
    who: Annotated[Principal | None, Depends(write_access)],
    genre: Annotated[str, Form(min_length=1, max_length=MAX_GENRE_NAME)],
    action: Annotated[Literal["rename", "delete"], Form()],
    into: Annotated[str, Form(max_length=MAX_GENRE_NAME)] = "",
    confirm: Annotated[bool, Form()] = False,
) -> Response:
    """Rename or merge a genre into another, or delete it: first a preview of what it does, then, once
    confirmed, the change."""
    target = into.strip() or None if action == "rename" else None
    if action == "rename" and target is None:
        raise InputError("give the genre's new name, or the genre to merge it into")
    if not confirm:
        preview = plan_genre_change(session, genre, target)
        return page(request, "genre_change.html", who, change=preview, action=action)
    change_genre(session, service.index.table, genre, target)
    return see(f"{PAGE_PREFIX}/genres")


@router.post(PAGE_PREFIX + "/retrain", dependencies=[Depends(write_access)])
def retrain(request: Request, service: ServiceDep) -> Response:
    """Start `genres train` + `genres predict` in the background and show its progress."""
    retrainer: Retrainer = request.app.state.retrainer
    return see(f"{PAGE_PREFIX}/jobs/{retrainer.start(service).job_id}")


@router.get(PAGE_PREFIX + "/signin", response_class=HTMLResponse)
def sign_in_form(request: Request, next_page: NextPage = "") -> Response:
    """The sign-in form; ``next`` is where to go once signed in."""
    return page(request, "signin.html", None, next_page=local(next_page, "/"))


@router.post(PAGE_PREFIX + "/signin")
def sign_in(
    request: Request,
    service: ServiceDep,
    key: Annotated[str, Form(min_length=1, max_length=DEFAULTS.max_key_length)],
    next_page: NextForm = "",
) -> Response:
    """Check the key and keep it in an HttpOnly, SameSite=Strict cookie, then go back to ``next`` (a path of this
    site, else the catalogue); an unknown key is refused (401)."""
    refuse_cross_site(request)
    if identify(service, key.strip()) is None:
        raise UnauthorizedError("that API key is unknown or revoked")
    response = see(local(next_page, "/"))
    response.set_cookie(
        KEY_COOKIE,
        key.strip(),
        max_age=COOKIE_DAYS * 86400,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post(PAGE_PREFIX + "/signout")
def sign_out(request: Request) -> Response:
    """Forget the key."""
    refuse_cross_site(request)
    response = see(PAGE_PREFIX + "/signin")
    response.delete_cookie(KEY_COOKIE, path="/")
    return response
