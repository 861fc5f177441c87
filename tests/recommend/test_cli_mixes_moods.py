"""CLI: mixes (refresh, list, export), moods (filter, describe, list, show, review) and their failures (exit 2)."""

from __future__ import annotations

from pathlib import Path

from support.cli_runner import cli_failure, run_cli
from support.recommend_fixtures import GENRE_MOODS, Catalogue


def test_mixes_refresh_list_and_export_an_m3u_in_listening_order(catalogue: Catalogue, tmp_path: Path) -> None:
    settings = catalogue.settings
    assert run_cli(settings, "mixes", "refresh", "--size", "18") == {"mixes": 4, "tracks": 70}
    listed = run_cli(settings, "mixes")
    assert set(listed) == {"mixes"} and len(listed["mixes"]) == 4
    first = listed["mixes"][0]
    assert isinstance(first["id"], int) and first["name"]
    assert all(isinstance(t["track_id"], int) and t["path"] for t in first["tracks"])
    target = tmp_path / "mix.m3u"
    exported = run_cli(settings, "mixes", "export", str(first["id"]), "--m3u", str(target))
    assert exported["tracks"] == len(first["tracks"])
    lines = target.read_text().splitlines()
    assert lines[0] == "#EXTM3U" and [x for x in lines if not x.startswith("#")] == [t["path"] for t in first["tracks"]]


def test_exporting_an_unknown_mix_exits_2(catalogue: Catalogue, tmp_path: Path) -> None:
    failure = cli_failure(catalogue.settings, "mixes", "export", "999", "--m3u", str(tmp_path / "x.m3u"))
    assert failure["type"] == "NotFoundError" and "999" in failure["error"]


def test_similar_by_description_prints_what_similar_prints(catalogue: Catalogue) -> None:
    settings = catalogue.settings
    by_seed = run_cli(settings, "similar", "40", "-k", "3")
    described = run_cli(settings, "similar", "--describe", "acoustic guitar", "-k", "5")
    assert set(by_seed) <= set(described)
    assert set(described["results"][0]) == set(by_seed["results"][0])
    assert all(catalogue.genre_of[r["track_id"]] == "folk" for r in described["results"])


def test_the_mood_option_filters_similar_and_recommend_keeps_to_it(catalogue: Catalogue) -> None:
    results = run_cli(catalogue.settings, "similar", "40", "--mood", "party", "-k", "5")["results"]
    assert results and all(catalogue.genre_of[r["track_id"]] == "techno" for r in results)


def test_an_unknown_mood_or_description_word_exits_2_naming_the_known_moods(catalogue: Catalogue) -> None:
    for args in (("similar", "40", "--mood", "grumpy"), ("similar", "--describe", "grumpy kazoo")):
        failure = cli_failure(catalogue.settings, *args)
        assert failure["type"] == "InputError" and "known moods" in failure["error"]


def test_moods_list_show_and_review(catalogue: Catalogue) -> None:
    settings = catalogue.settings
    facets = {f["mood"]: f["tracks"] for f in run_cli(settings, "moods", "list")["moods"]}
    assert all(facets[m] > 0 for moods in GENRE_MOODS.values() for m in moods)
    jazz = next(t for t, g in catalogue.genre_of.items() if g == "jazz")
    before = run_cli(settings, "moods", "show", str(jazz))["moods"]
    assert set(before) <= set(GENRE_MOODS["jazz"])
    assert run_cli(settings, "moods", "review", str(jazz), "Calm", "--accept") == {
        "track_id": jazz,
        "mood": "mellow",
        "accepted": True,
    }
    assert "mellow" in run_cli(settings, "moods", "show", str(jazz))["moods"]
    assert cli_failure(settings, "moods", "review", str(jazz), "grumpy", "--reject")["type"] == "InputError"
