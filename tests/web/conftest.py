"""Web page fixtures: a real-audio catalogue served on loopback, and headless Chromium to drive it."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch
from selenium import webdriver
from selenium.webdriver.chrome.service import Service as DriverService

from soundalike.recommend.api.app import create_app
from soundalike.recommend.service import Service

from support.browser import ARTEFACTS, CHROMEDRIVER, CHROMIUM, RequestLog, Site, build_site
from support.servers import running


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The real-audio catalogue under ``soundalike serve``'s app on loopback, every request logged."""
    settings, ids, write_key, read_key = build_site(tmp_path_factory.mktemp("web"))
    service = Service.open(settings, device=torch.device("cpu"))
    log = RequestLog(create_app(settings, service=service))
    with running(log) as port:  # type: ignore[arg-type]
        yield Site(f"http://127.0.0.1:{port}", settings, ids, write_key, read_key, log)
    service.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    """Headless Chromium from Debian through its chromedriver; Selenium Manager never looks for a download."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--mute-audio",
        "--autoplay-policy=no-user-gesture-required",
        "--window-size=1280,1000",
    ):
        options.add_argument(argument)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SE_OFFLINE", "true")
        driver = webdriver.Chrome(options=options, service=DriverService(executable_path=str(CHROMEDRIVER)))
    driver.implicitly_wait(2)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def screenshots(request: pytest.FixtureRequest) -> Callable[[webdriver.Chrome, str], Path]:
    """Save a screenshot of the current view to ``tests/artefacts/web/MODULE/NAME.png``."""
    folder = ARTEFACTS / request.module.__name__.rsplit(".", 1)[-1]
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)

    def save(driver: webdriver.Chrome, name: str) -> Path:
        target = folder / f"{name}.png"
        driver.save_screenshot(str(target))
        print(f"screenshot: {target}")
        return target

    return save
