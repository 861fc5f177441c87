"""Rendering pages: the templates and static files shipped inside the package, and HTML error pages."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import SQLAlchemyError

from soundalike import __version__
from soundalike.ingest.errors import SoundalikeError
from soundalike.recommend.api.auth import KEY_COOKIE, identify
from soundalike.recommend.api_keys import Principal
from soundalike.recommend.web.curation import SUGGESTION_BELOW
from soundalike.recommend.web.reasons import closeness

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
PAGE_PREFIX = "/web"
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["version"] = __version__
templates.env.filters["closeness"] = closeness
templates.env.globals["suggestion_below"] = SUGGESTION_BELOW
FIELD_NAMES = {
    "page": "the page number",
    "track_id": "the track number",
    "job_id": "the job number",
    "skip": "the number to skip",
    "steps": "the number of steps",
    "key": "the key",
    "genre": "the genre",
    "user": "the listener's name",
}
PLAIN_RULES = {
    "int_parsing": "must be a whole number",
    "float_parsing": "must be a number",
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be more than {gt}",
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
    "string_too_long": "is too long (at most {max_length} characters)",
    "string_too_short": "must not be empty",
    "missing": "is missing",
    "literal_error": "must be one of {expected}",
}
TITLES = {401: "Sign-in needed", 403: "Not allowed", 404: "Not found", 409: "Out of date", 422: "Not understood"}


def key_name(key: str) -> str:
    """A musical key in one form everywhere: the note capitalised ("a# major" -> "A# major")."""
    return key[:1].upper() + key[1:]


def here(request: Request) -> str:
    """The path and query of a request, to come back to after signing in."""
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


templates.env.globals["here"] = here
templates.env.filters["key_name"] = key_name


def is_page(request: Request) -> bool:
    """Whether a request is for the web page (answered in HTML) rather than the JSON API."""
    path = request.url.path
    return path == "/" or path == PAGE_PREFIX or path.startswith(PAGE_PREFIX + "/")


def page(request: Request, template: str, who: Principal | None, *, status: int = 200, **context: Any) -> HTMLResponse:
    """A rendered page; every page shows who is signed in."""
    return templates.TemplateResponse(request, template, {"who": who, **context}, status_code=status)


def signed_in(request: Request) -> Principal | None:
    """Who the sign-in cookie names, if anyone (an error page still says who is signed in)."""
    cookie = request.cookies.get(KEY_COOKIE)
    service = getattr(request.app.state, "service", None)
    if not cookie or service is None:
        return None
    try:
        return identify(service, cookie)
    except (SoundalikeError, SQLAlchemyError):
        return None


def way_back(request: Request) -> str:
    """Where signing in should lead after a refusal: this page, or for a form the page that sent it."""
    if request.method == "GET":
        return here(request)
    referer = urlsplit(request.headers.get("referer", ""))
    same = referer.netloc == request.headers.get("host")
    return referer.path + (f"?{referer.query}" if referer.query else "") if same and referer.path else "/"


def plain_errors(errors: Sequence[Any]) -> str:
    """A malformed request's fields in plain words ("the page number must be a whole number")."""
    said = []
    for error in errors:
        name = str(error["loc"][-1]) if error.get("loc") else "the request"
        field = FIELD_NAMES.get(name, f"the {name.replace('_', ' ')}")
        context = error.get("ctx") or {}
        rule = PLAIN_RULES.get(error["type"], "is not right: " + str(error["msg"]).lower())
        said.append(f"{field} {rule.format(**context)}")
    return "; ".join(said)


def error_page(request: Request, status: int, message: str, *, needs: str | None = None) -> HTMLResponse:
    """A plain page in the site's frame naming what went wrong (never a traceback) and what to do next; it knows
    who is signed in, and a refused credential is forgotten."""
    title = TITLES.get(status, "Something went wrong" if status >= 500 else "Refused")
    who = None if status in (401,) or status >= 500 else signed_in(request)
    if status == 401 and needs:
        message = (
            "you need to sign in to see this" if needs == "read" else f"you need to sign in with a key that may {needs}"
        )
    elif status == 403 and needs and who is not None:
        message = f"your key {who.name!r} may {who.scope} only; this needs a key that may {needs}"
    context = {"who": who, "status": status, "title": title, "message": message, "needs": needs}
    response = templates.TemplateResponse(
        request, "error.html", {**context, "back": way_back(request)}, status_code=status
    )
    if status == 401:
        response.delete_cookie(KEY_COOKIE, path="/")
    return response
