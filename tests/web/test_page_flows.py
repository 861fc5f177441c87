"""The page's flows for listeners and curators in Debian's Chromium: one player across navigation, a queue, a
radio, reasons in words, curator undo and confirmation, predictions marked, phones and an accessibility pass."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from soundalike.ingest.db.session import open_database, session_scope
from soundalike.ingest.repository import set_track_genre

from support.browser import Site, genre_rows, needs_chromium, predicted, sign_in, texts, wait_for
from support.cli_runner import run_cli

pytestmark = [needs_chromium, pytest.mark.slow, pytest.mark.timeout(600)]
Shot = Callable[[webdriver.Chrome, str], Path]
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
PHONE = 390
PAGES = ("/", "/web/review", "/web/listener?user=ann", "/web/mixes", "/web/genres", "/web/map", "/web/signin")


def audio_state(browser: webdriver.Chrome) -> dict[str, Any]:
    """The bar's audio element: whether it is the one first marked, its source, time and whether it plays."""
    return browser.execute_script(
        "const a = document.getElementById('audio');"
        "return {same: a === window.firstAudio, src: a.currentSrc, time: a.currentTime, paused: a.paused,"
        " ticks: window.ticks || 0};"
    )


def start_playing(browser: webdriver.Chrome, site: Site, count: int) -> None:
    """Play the first catalogue row and queue the next ``count - 1``; mark the audio element and count its ticks."""
    browser.get(site.url("/"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#tracks .play")
    rows[0].find_element(By.CSS_SELECTOR, ".play-now").click()
    for row in rows[1:count]:
        row.find_element(By.CSS_SELECTOR, ".enqueue").click()
    browser.execute_script(
        "window.firstAudio = document.getElementById('audio'); window.ticks = 0;"
        "window.order = [window.firstAudio.currentSrc || window.firstAudio.src];"
        "window.firstAudio.addEventListener('timeupdate', () => { window.ticks += 1; });"
        "window.firstAudio.addEventListener('loadstart', (e) => window.order.push(e.target.src));"
    )
    wait_for(browser, lambda b: audio_state(b)["time"] > 0.2)


def test_music_keeps_playing_across_three_page_changes(
    browser: webdriver.Chrome, site: Site, screenshots: Shot
) -> None:
    start_playing(browser, site, 4)
    for link in ("Listener", "Mixes", "Map"):
        before = audio_state(browser)
        browser.find_element(By.LINK_TEXT, link).click()
        wait_for(browser, lambda b, link=link: b.find_element(By.TAG_NAME, "h1").text.startswith(link[:3]))
        wait_for(browser, lambda b, before=before: audio_state(b)["ticks"] > before["ticks"] + 2)
        now = audio_state(browser)
        assert now["same"] and not now["paused"], now
        assert now["time"] > before["time"] or now["src"] != before["src"]
    assert browser.current_url == site.url("/web/map")
    screenshots(browser, "playing-on-the-map")


def test_a_queue_plays_in_order(browser: webdriver.Chrome, site: Site) -> None:
    start_playing(browser, site, 3)
    expected = [
        f"/tracks/{r.get_attribute('data-track-id')}/audio"
        for r in browser.find_elements(By.CSS_SELECTOR, "#tracks tr.track")[:3]
    ]
    queued = [li.get_attribute("data-track-id") for li in browser.find_elements(By.CSS_SELECTOR, "#queue li")]
    assert [f"/tracks/{q}/audio" for q in queued] == expected
    for _ in range(2):
        browser.execute_script("const a = document.getElementById('audio'); a.currentTime = a.duration - 0.2;")
        count = len(browser.execute_script("return window.order"))
        wait_for(browser, lambda b, count=count: len(b.execute_script("return window.order")) > count)
    order = [re.sub(r"^https?://[^/]+", "", s) for s in browser.execute_script("return window.order")]
    assert order == expected
    wait_for(browser, lambda b: audio_state(b)["time"] > 0.1)


def test_a_mix_plays_whole_and_the_keyboard_steers_it(browser: webdriver.Chrome, site: Site) -> None:
    browser.get(site.url("/web/mixes"))
    button = browser.find_element(By.CSS_SELECTOR, "#mixes .play-mix")
    size = int(browser.find_element(By.CSS_SELECTOR, "#mixes .mix small").text.split()[0])
    button.click()
    wait_for(browser, lambda b: audio_state(b)["time"] > 0.2)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#queue li")) == size
    first = audio_state(browser)["src"]
    browser.find_element(By.TAG_NAME, "body").send_keys("n")
    wait_for(browser, lambda b: audio_state(b)["src"] != first and audio_state(b)["time"] > 0.1)
    browser.find_element(By.TAG_NAME, "body").send_keys(" ")
    wait_for(browser, lambda b: audio_state(b)["paused"])
    browser.find_element(By.TAG_NAME, "body").send_keys(" ")
    wait_for(browser, lambda b: not audio_state(b)["paused"])


def test_a_radio_started_from_a_track_plays(browser: webdriver.Chrome, site: Site, screenshots: Shot) -> None:
    seed = site.ids["drone_03.ogg"]
    browser.get(site.url(f"/web/tracks/{seed}"))
    assert not browser.find_elements(By.ID, "start-radio")  # only a writer may start one
    sign_in(browser, site, site.write_key)
    browser.get(site.url(f"/web/tracks/{seed}"))
    browser.find_element(By.ID, "start-radio").click()
    wait_for(browser, lambda b: b.find_element(By.ID, "radio-state").is_displayed())
    wait_for(browser, lambda b: audio_state(b)["time"] > 0.2)
    started = [r for r in site.log.requests if r.method == "POST" and r.path == "/radio"]
    assert started and started[-1].status == 201
    playing = int(re.search(r"/tracks/(\d+)/audio", str(audio_state(browser)["src"])).group(1))  # type: ignore[union-attr]
    assert playing != seed
    browser.find_element(By.CSS_SELECTOR, "#main .actions .play-now").click()  # the seed, a drone: its folder's cover
    wait_for(browser, lambda b: b.find_element(By.ID, "cover").is_displayed())
    assert browser.execute_script("return document.getElementById('cover').naturalWidth") == 64
    screenshots(browser, "radio")


def test_reasons_name_tracks_and_interests_never_ids(browser: webdriver.Chrome, site: Site, screenshots: Shot) -> None:
    browser.get(site.url("/web/listener"))
    Select(browser.find_element(By.ID, "user")).select_by_visible_text("ann")
    browser.find_element(By.CSS_SELECTOR, "#pick-user button").click()
    wait_for(browser, lambda b: "user=ann" in b.current_url and texts(b, "#playlist td.why"))
    reasons = texts(browser, "#playlist td.why")
    assert all(re.match(r"like beat \d by beat artist, which you played once", w) for w in reasons), reasons
    assert not any(re.search(r"\b(track|seed|cluster) \d+", w) for w in reasons)
    interests = texts(browser, "#interests .interest-name")
    assert interests and all("beat" in i and not i.isdigit() for i in interests), interests
    browser.find_element(By.CSS_SELECTOR, "button.play-all[data-from='#playlist']").click()
    queued = texts(browser, "#queue li", "data-track-id")
    assert queued == texts(browser, "#playlist tr.result", "data-track-id")
    matches = browser.find_elements(By.CSS_SELECTOR, "#playlist td.match")
    assert all(m.find_elements(By.TAG_NAME, "meter") and not re.search(r"-?\d\.\d{3}", m.text) for m in matches)
    screenshots(browser, "reasons")


def test_a_decision_is_undone(browser: webdriver.Chrome, site: Site) -> None:
    sign_in(browser, site, site.write_key)
    track_id = site.ids["beat_05.flac"]
    genre = predicted(site, track_id)
    browser.get(site.url(f"/web/tracks/{track_id}"))
    browser.find_element(By.CSS_SELECTOR, f'tr[data-source="predicted"][data-genre="{genre}"] button.reject').click()
    wait_for(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#decisions button.undo"))
    assert (genre, "curator", True) in genre_rows(site, track_id)
    browser.find_element(By.CSS_SELECTOR, "#decisions button.undo").click()
    wait_for(browser, lambda b: "undone" in b.find_element(By.ID, "decisions").text)
    assert {r for r in genre_rows(site, track_id) if r[1] != "tag"} == {(genre, "predicted", False)}
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-source="predicted"][data-genre="{genre}"]')
    assert row.get_attribute("data-state") == "open" and row.find_elements(By.CSS_SELECTOR, "button.accept")


def test_a_new_genre_needs_confirmation(browser: webdriver.Chrome, site: Site, screenshots: Shot) -> None:
    sign_in(browser, site, site.write_key)
    track_id = site.ids["drone_06.ogg"]
    browser.get(site.url(f"/web/tracks/{track_id}"))
    browser.find_element(By.ID, "new-genre").send_keys("dronee")
    browser.find_element(By.CSS_SELECTOR, "#set-genre button").click()
    wait_for(browser, lambda b: b.find_elements(By.ID, "confirm-genre"))
    assert texts(browser, "#near-matches button") == ["Use “drone”"]
    assert not [r for r in genre_rows(site, track_id) if r[0] == "dronee"]
    screenshots(browser, "confirm-genre")
    browser.find_element(By.CSS_SELECTOR, "#confirm-genre button").click()
    wait_for(browser, lambda b: b.find_elements(By.CSS_SELECTOR, 'tr[data-source="curator"][data-genre="dronee"]'))
    assert ("dronee", "curator", False) in genre_rows(site, track_id)


def test_the_catalogue_marks_predictions_as_such(browser: webdriver.Chrome, site: Site, screenshots: Shot) -> None:
    weak, strong = site.ids["beat_07.mp3"], site.ids["beat_06.ogg"]
    with session_scope(open_database(site.settings.db_url)) as session:
        set_track_genre(session, weak, "ambient", source="predicted", confidence=0.2, model_version="t")
        set_track_genre(session, strong, "ambient", source="predicted", confidence=0.9, model_version="t")
    browser.get(site.url("/?q=beat"))
    cell = {
        int(str(r.get_attribute("data-track-id"))): r.find_element(By.CSS_SELECTOR, "td.genres")
        for r in browser.find_elements(By.CSS_SELECTOR, "#tracks tr.track")
    }
    assert cell[weak].find_element(By.CSS_SELECTOR, '[data-kind="suggestion"]').text == "maybe ambient suggested 20 %"
    assert cell[strong].find_element(By.CSS_SELECTOR, '[data-kind="predicted"]').text == "ambient predicted 90 %"
    sources = {e.get_attribute("data-kind") for c in cell.values() for e in c.find_elements(By.CSS_SELECTOR, ".genre")}
    assert {"label", "suggestion", "predicted"} <= sources
    screenshots(browser, "catalogue-sources")
    run_cli(site.settings, "genres", "predict")


def test_error_pages_show_the_signed_in_user(browser: webdriver.Chrome, site: Site, screenshots: Shot) -> None:
    sign_in(browser, site, site.write_key)
    for path in ("/web/tracks/999999", "/web/tracks/x", "/?page=two"):
        browser.get(site.url(path))
        assert browser.find_element(By.ID, "signed-in").text == "curator (write)"
        assert not browser.find_elements(By.ID, "sign-in")
        assert "Input should" not in browser.find_element(By.ID, "error-message").text
    assert browser.find_element(By.ID, "error-message").text == "the page number must be a whole number"
    screenshots(browser, "error-signed-in")


@pytest.fixture
def phone(browser: webdriver.Chrome) -> Iterator[webdriver.Chrome]:
    """The browser with a phone's viewport, 390 CSS pixels wide."""
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": PHONE, "height": 844, "deviceScaleFactor": 2, "mobile": True}
    )
    yield browser
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_at_390_px_nothing_is_cut_off(phone: webdriver.Chrome, site: Site, screenshots: Shot) -> None:
    sign_in(phone, site, site.write_key)
    for path in (*PAGES, f"/web/tracks/{site.ids['beat_01.mp3']}", "/web/tracks/999999"):
        phone.get(site.url(path))
        width = phone.execute_script("return document.documentElement.scrollWidth")
        assert width <= PHONE, (path, width)
        links = phone.find_elements(By.CSS_SELECTOR, "header nav a")
        edges = [phone.execute_script("return arguments[0].getBoundingClientRect().right", a) for a in links]
        assert edges and max(edges) <= PHONE, (path, edges)
        screenshots(phone, "phone" + re.sub(r"[^a-z0-9]+", "-", path).rstrip("-"))


def test_axe_finds_no_serious_or_critical_violation(browser: webdriver.Chrome, site: Site) -> None:
    sign_in(browser, site, site.write_key)
    source = AXE.read_text()
    found = {}
    for path in (*PAGES, f"/web/tracks/{site.ids['beat_01.mp3']}", "/web/tracks/999999"):
        browser.get(site.url(path))
        browser.execute_script(source)
        result = browser.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations.map("
            "v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}))));"
        )
        bad = [v for v in result if v["impact"] in ("serious", "critical")]
        if bad:
            found[path] = bad
    assert not found, found
