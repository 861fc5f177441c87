"""Putting the web page into the app: its routes, its static files and the retraining worker."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from soundalike.recommend.web import actions, pages
from soundalike.recommend.web.render import PAGE_PREFIX, STATIC_DIR
from soundalike.recommend.web.retrain import Retrainer


def install_web(app: FastAPI) -> None:
    """Serve the page at ``/`` and under ``/web/``, its assets under ``/web/static/`` (no login for those)."""
    app.state.retrainer = Retrainer()
    app.include_router(pages.router)
    app.include_router(actions.router)
    app.mount(PAGE_PREFIX + "/static", StaticFiles(directory=STATIC_DIR), name="static")
