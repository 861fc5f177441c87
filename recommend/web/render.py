"""Rendering pages: the templates and static files shipped inside the package, and HTML error pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from soundalike import __version__
from soundalike.recommend.api.auth import KEY_COOKIE
from soundalike.recommend.api_keys import Principal
from soundalike.recommend.web.reasons import closeness

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
PAGE_PREFIX = "/web"
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["version"] = __version__
templates.env.filters["closeness"] = closeness
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


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """A plain page naming what went wrong (never a traceback); a refused credential is forgotten."""
    title = TITLES.get(status, "Something went wrong" if status >= 500 else "Refused")
    response = templates.TemplateResponse(
        request, "error.html", {"who": None, "status": status, "title": title, "message": message}, status_code=status
    )
    if status == 401:
        response.delete_cookie(KEY_COOKIE, path="/")
    return response
