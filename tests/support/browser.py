"""A real-audio catalogue served on loopback and Debian's Chromium driving it headless (no browser download)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select

from soundalike.ingest.db.models import Genre, Track, TrackGenre
from soundalike.ingest.db.session import open_database
from soundalike.ingest.settings import Settings

from support.audio_factory import make_track
from support.cli_runner import run_cli

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTEFACTS = Path(__file__).parents[1] / "artefacts" / "web"
STYLES = ("drone", "beat")
FORMATS = (".ogg", ".mp3", ".flac")
PER_STYLE = 8
LABELLED_PER_STYLE = 4

needs_chromium = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="needs Debian's chromium and chromium-driver (bash scripts/install.sh --dev installs them)",
)


@dataclass
class Request:
    """One request the server answered: method, path, Range header and status."""

    method: str
    path: str
    range: str | None
    status: int


@dataclass
class RequestLog:
    """An ASGI wrapper that records every HTTP request the app answers (the test's server log)."""

    app: Any
    requests: list[Request] = field(default_factory=list)

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        """Pass the request on, noting the status of its answer."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        entry = Request(scope["method"], scope["path"], (headers.get(b"range") or b"").decode() or None, 0)

        async def noting(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                entry.status = message["status"]
                self.requests.append(entry)
            await send(message)

        await self.app(scope, receive, noting)


@dataclass
class Site:
    """The served real-audio catalogue: address, settings, track ids by file name, keys, and the request log."""

    base: str
    settings: Settings
    ids: dict[str, int]
    write_key: str
    read_key: str
    log: RequestLog

    def url(self, path: str) -> str:
        """The absolute address of a path on the site."""
        return self.base + path


def make_library(root: Path) -> Path:
    """Drone and beat tracks, 4 s each, as ogg, mp3 and flac with tags; a labels CSV for half of them; the drone
    folder has a cover image."""
    lines = ["path,genre"]
    for style in STYLES:
        for i in range(PER_STYLE):
            name = f"{style}/{style}_{i:02d}{FORMATS[i % len(FORMATS)]}"
            make_track(
                root / name,
                style,
                seed=i,
                seconds=4.0,
                title=f"{style} {i}",
                artist=f"{style} artist",
                album=f"{style} album {i % 2}",
                genre=style,
            )
            if i < LABELLED_PER_STYLE:
                lines.append(f"{name},{style}")
    (root / "labels.csv").write_text("\n".join(lines) + "\n")
    Image.new("RGB", (64, 64), (40, 90, 200)).save(root / "drone" / "cover.png")
    return root


def build_site(root: Path) -> tuple[Settings, dict[str, int], str, str]:
    """Ingest, index, label, train and predict through the CLI, a listener with history; returns the keys."""
    music = make_library(root / "music")
    settings = Settings(home=root / "home", database_url=f"sqlite:///{root / 'web.db'}", embedding_model="mfcc-stats")
    settings.home.mkdir()
    assert run_cli(settings, "ingest", str(music), "--workers", "1")["added"] == 2 * PER_STYLE
    run_cli(settings, "index", "build")
    run_cli(settings, "labels", "import", str(music / "labels.csv"))
    run_cli(settings, "genres", "train")
    run_cli(settings, "genres", "predict")
    run_cli(settings, "mixes", "refresh")
    with open_database(settings.db_url)() as session:
        ids = {Path(p).name: int(t) for t, p in session.execute(select(Track.id, Track.path))}
    history = root / "history.csv"
    plays = [f"ann,{ids[f'beat_{i:02d}{FORMATS[i % 3]}']},2025-03-0{i + 1}T12:00:00Z,200000,false" for i in range(4)]
    history.write_text("user,track,played_at,ms_played,skipped\n" + "\n".join(plays) + "\n")
    run_cli(settings, "history", "import", str(history))
    write_key = run_cli(settings, "keys", "create", "curator", "--scope", "write")["key"]
    read_key = run_cli(settings, "keys", "create", "guest", "--scope", "read")["key"]
    return settings, ids, write_key, read_key


def genre_rows(site: Site, track_id: int) -> set[tuple[str, str, bool]]:
    """(genre, source, rejected) of every stored genre row of a track."""
    with open_database(site.settings.db_url)() as session:
        rows = session.execute(
            select(Genre.name, TrackGenre.source, TrackGenre.rejected)
            .join(Genre, Genre.id == TrackGenre.genre_id)
            .where(TrackGenre.track_id == track_id)
        )
        return {(str(g), str(s), bool(r)) for g, s, r in rows}


def predicted(site: Site, track_id: int) -> str:
    """The genre predicted for a track (there is one)."""
    (genre,) = [g for g, s, _ in genre_rows(site, track_id) if s == "predicted"]
    return genre


def sign_in(browser: webdriver.Chrome, site: Site, key: str) -> None:
    """Sign in through the form."""
    browser.get(site.url("/web/signin"))
    browser.find_element(By.ID, "key").send_keys(key)
    browser.find_element(By.CSS_SELECTOR, "#signin button").click()
    wait_for(browser, lambda b: b.find_elements(By.ID, "signed-in"))


def wait_for(browser: webdriver.Chrome, condition: Callable[[webdriver.Chrome], object], seconds: float = 30) -> None:
    """Wait until ``condition`` holds (generous: the machine running the tests may be busy)."""
    WebDriverWait(browser, seconds, ignored_exceptions=[StaleElementReferenceException]).until(condition)


def texts(browser: webdriver.Chrome, css: str, attribute: str | None = None) -> list[str]:
    """The text (or ``attribute``) of every element matching ``css``, read in one script so that a page swap
    between finding and reading cannot leave a stale reference."""
    return browser.execute_script(
        "return [...document.querySelectorAll(arguments[0])]"
        ".map((e) => arguments[1] ? e.getAttribute(arguments[1]) : e.innerText.trim());",
        css,
        attribute,
    )
