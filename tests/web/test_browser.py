"""The web page end to end in Debian's Chromium (headless) against a real server on loopback, real audio."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from support.browser import Site, genre_rows, needs_chromium, predicted, sign_in, texts, wait_for
from support.cli_runner import run_cli

pytestmark = [needs_chromium, pytest.mark.slow, pytest.mark.timeout(600)]
Shot = Callable[[webdriver.Chrome, str], Path]


def test_search_the_catalogue_and_play_a_track(browser: webdriver.Chrome, site: Site, screenshots: Shot) -> None:
    browser.get(site.url("/"))
    browser.find_element(By.ID, "q").send_keys("drone album 1")
    browser.find_element(By.CSS_SELECTOR, "#search button").click()
    wait_for(browser, lambda b: "q=drone" in b.current_url)
    rows = browser.find_elements(By.CSS_SELECTOR, "#tracks tr.track")
    assert len(rows) == 4 and all("drone" in r.text for r in rows)
    screenshots(browser, "catalogue")

    rows[0].find_element(By.CSS_SELECTOR, "a.track-link").click()
    wait_for(browser, lambda b: "/web/tracks/" in b.current_url)
    track_id = int(browser.current_url.rsplit("/", 1)[1])
    assert browser.find_element(By.ID, "tempo").text.endswith("bpm")
    browser.find_element(By.CSS_SELECTOR, "#main .actions .play-now").click()
    wait_for(browser, lambda b: b.execute_script("return document.getElementById('audio').currentTime") > 0.2)
    audio = [r for r in site.log.requests if r.path == f"/tracks/{track_id}/audio"]
    assert audio and all(r.status == 206 and r.range for r in audio), audio
    screenshots(browser, "track")


def test_similar_tracks_give_reasons_and_open(browser: webdriver.Chrome, site: Site) -> None:
    browser.get(site.url(f"/web/tracks/{site.ids['beat_01.mp3']}"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#similar tr.result")
    assert len(rows) == 2 * 8 - 1 - 5  # k=10 of the other 15
    reasons = [r.find_element(By.CSS_SELECTOR, "td.why").text for r in rows]
    assert all(w.startswith("like beat 1 by beat artist") for w in reasons), reasons
    assert "beat" in rows[0].text
    assert all(r.find_elements(By.CSS_SELECTOR, ".play button.play-now") for r in rows)
    target = rows[0].get_attribute("data-track-id")
    rows[0].find_element(By.CSS_SELECTOR, "a.track-link").click()
    wait_for(browser, lambda b: b.current_url == site.url(f"/web/tracks/{target}"))
    assert browser.find_elements(By.CSS_SELECTOR, "#similar tr.result")


def test_accept_and_reject_predicted_genres(browser: webdriver.Chrome, site: Site) -> None:
    sign_in(browser, site, site.write_key)
    kept, dropped = site.ids["drone_05.flac"], site.ids["beat_06.ogg"]
    genre = predicted(site, kept)
    browser.get(site.url(f"/web/tracks/{kept}"))
    browser.find_element(By.CSS_SELECTOR, f'tr[data-source="predicted"][data-genre="{genre}"] button.accept').click()
    wait_for(browser, lambda b: b.find_elements(By.CSS_SELECTOR, f'tr[data-source="curator"][data-genre="{genre}"]'))
    assert (genre, "curator", False) in genre_rows(site, kept)

    wrong = predicted(site, dropped)
    browser.get(site.url(f"/web/tracks/{dropped}"))
    browser.find_element(By.CSS_SELECTOR, f'tr[data-source="predicted"][data-genre="{wrong}"] button.reject').click()
    wait_for(browser, lambda b: (wrong, "curator", True) in genre_rows(site, dropped))
    run_cli(site.settings, "genres", "predict")
    machine = [(g, s) for g, s, _ in genre_rows(site, dropped) if s in ("predicted", "suggested")]
    assert machine and all(g != wrong for g, _ in machine)


def test_walk_the_review_queue_with_the_keyboard_and_retrain(
    browser: webdriver.Chrome, site: Site, screenshots: Shot
) -> None:
    sign_in(browser, site, site.write_key)
    browser.get(site.url("/web/review"))
    screenshots(browser, "review")

    def shown() -> tuple[int, str, int, int]:
        item = browser.find_element(By.ID, "review-item")
        return (
            int(item.get_attribute("data-track-id")),
            str(item.get_attribute("data-genre")),
            int(browser.find_element(By.ID, "reviewed").text),
            int(browser.find_element(By.ID, "remaining").text),
        )

    first, _, reviewed, remaining = shown()
    confidences = [float(browser.find_element(By.ID, "confidence").text)]
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys("n")
    wait_for(browser, lambda b: shown()[0] != first)
    second, genre, _, _ = shown()
    confidences.append(float(browser.find_element(By.ID, "confidence").text))
    assert confidences == sorted(confidences)
    browser.find_element(By.TAG_NAME, "body").send_keys("a")
    wait_for(browser, lambda b: shown()[2] == reviewed + 1)
    assert (genre, "curator", False) in genre_rows(site, second)
    assert shown()[3] == remaining - 1
    third, wrong, _, _ = shown()
    browser.find_element(By.TAG_NAME, "body").send_keys("r")
    wait_for(browser, lambda b: shown()[2] == reviewed + 2)
    assert (wrong, "curator", True) in genre_rows(site, third)

    browser.find_element(By.CSS_SELECTOR, "#retrain button").click()
    wait_for(browser, lambda b: b.find_element(By.ID, "job").get_attribute("data-state") in ("done", "failed"), 60)
    assert browser.find_element(By.ID, "job-state").text == "done", browser.find_element(By.ID, "job").text
    assert "tracks predicted" in browser.find_element(By.ID, "job-message").text
    screenshots(browser, "retrain")


def test_a_listeners_playlist_m3u_and_sonic_path(browser: webdriver.Chrome, site: Site, screenshots: Shot) -> None:
    browser.get(site.url("/web/listener"))
    Select(browser.find_element(By.ID, "user")).select_by_visible_text("ann")
    browser.find_element(By.CSS_SELECTOR, "#pick-user button").click()
    wait_for(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#playlist tr.result"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#playlist tr.result")
    assert rows and browser.find_element(By.ID, "strategy").text == "personalised"
    assert all(r.find_element(By.CSS_SELECTOR, "td.why").text for r in rows)
    assert browser.find_elements(By.CSS_SELECTOR, "#interests tbody tr")
    href = browser.find_element(By.ID, "m3u").get_attribute("href")
    m3u = browser.execute_async_script(
        "const done = arguments[arguments.length - 1]; fetch(arguments[0]).then(r => r.text()).then(done);", href
    )
    files = [line for line in m3u.splitlines() if line and not line.startswith("#")]
    assert m3u.startswith("#EXTM3U") and len(files) == len(rows) and all(Path(f).is_file() for f in files)

    start, end = site.ids["drone_00.ogg"], site.ids["beat_07.mp3"]
    browser.find_element(By.ID, "start").send_keys("drone 0")
    wait_for(
        browser,
        lambda b: b.find_elements(By.CSS_SELECTOR, '#track-suggestions option[value="drone 0 by drone artist"]'),
    )
    browser.find_element(By.ID, "end").send_keys("beat 7 by beat artist")
    browser.find_element(By.CSS_SELECTOR, "#path-form button").click()
    wait_for(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#path tr.result"))
    path = [int(i) for i in texts(browser, "#path tr.result", "data-track-id")]
    assert path[0] == start and path[-1] == end
    screenshots(browser, "listener")


def test_the_map_opens_a_track(browser: webdriver.Chrome, site: Site, screenshots: Shot) -> None:
    browser.get(site.url("/web/map"))
    points = browser.find_elements(By.CSS_SELECTOR, "#map a.point")
    assert len(points) == 16 and len(browser.find_elements(By.CSS_SELECTOR, "#legend li")) == 2
    screenshots(browser, "map")
    target = points[3].get_attribute("data-track-id")
    browser.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", points[3])
    wait_for(browser, lambda b: b.current_url.endswith(f"/web/tracks/{target}"))


def test_a_read_only_key_is_refused_a_write_with_a_clear_page(
    browser: webdriver.Chrome, site: Site, screenshots: Shot
) -> None:
    sign_in(browser, site, site.read_key)
    screenshots(browser, "signed-in")
    track_id = site.ids["drone_07.mp3"]
    before = genre_rows(site, track_id)
    browser.get(site.url(f"/web/tracks/{track_id}"))
    browser.find_element(By.ID, "new-genre").send_keys("ambient")
    browser.find_element(By.CSS_SELECTOR, "#set-genre button").click()
    message = browser.find_element(By.ID, "error-message").text
    assert message == "your key 'guest' may read only; this needs a key that may write"
    assert browser.find_element(By.ID, "signed-in").text == "guest (read)" and not browser.find_elements(
        By.ID, "sign-in"
    )
    assert "Traceback" not in browser.page_source
    assert genre_rows(site, track_id) == before
    screenshots(browser, "refused")
