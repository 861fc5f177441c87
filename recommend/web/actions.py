"""What the web page changes (POST forms): curator reviews and retraining need a write key; sign-in and
sign-out keep or drop the key in an HttpOnly, SameSite=Strict cookie. Cross-site posts are refused."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from soundalike.ingest.errors import UnauthorizedError
from soundalike.ingest.names import MAX_GENRE_NAME
from soundalike.recommend.api.auth import KEY_COOKIE, identify, refuse_cross_site, write_access
from soundalike.recommend.api.deps import ServiceDep, SessionDep, TrackId
from soundalike.recommend.browse import review_track_genre
from soundalike.recommend.defaults import DEFAULTS
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


@router.post(PAGE_PREFIX + "/tracks/{track_id}/review", dependencies=[Depends(write_access)])
def review(
    track_id: TrackId,
    service: ServiceDep,
    session: SessionDep,
    genre: Annotated[str, Form(min_length=1, max_length=MAX_GENRE_NAME)],
    verdict: Annotated[Literal["accept", "reject"], Form()],
    next_page: NextForm = "",
) -> Response:
    """Accept or reject a genre of a track, or set another: the same operation as the API and `genres review`."""
    review_track_genre(session, service.index.table, track_id, genre, accept=verdict == "accept")
    return see(local(next_page, f"{PAGE_PREFIX}/tracks/{track_id}"))


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
