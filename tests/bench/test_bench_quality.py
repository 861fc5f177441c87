"""The real-recording quality benchmark's plumbing, on a tiny generated catalogue of real encoded files."""

from __future__ import annotations

import json
from pathlib import Path

import bench_quality
import pytest

from support.audio_factory import make_track


@pytest.mark.parametrize(
    ("stem", "group"),
    [("celtic_fast", "celtic"), ("farm_f", "farm"), ("celtic", "celtic"), ("fast_lane", "fast_lane"), ("a_b", "a_b")],
)
def test_a_fast_variant_belongs_to_its_base_track(stem: str, group: str) -> None:
    assert bench_quality.track_group(stem) == group


def test_excerpts_never_overlap_and_stay_inside_the_margins() -> None:
    starts = bench_quality.excerpt_starts(100.0, 18.0)
    assert len(starts) == 4
    assert all(b - a >= 18.0 for a, b in zip(starts, starts[1:], strict=False))
    assert starts[0] == pytest.approx(5.0) and starts[-1] + 18.0 == pytest.approx(95.0)
    assert len(bench_quality.excerpt_starts(30.0, 18.0)) == 1


@pytest.fixture
def music(tmp_path: Path) -> Path:
    """Three albums of four track groups each (one with a fast variant) and one track too short to cut twice."""
    root = tmp_path / "music"
    styles = {"alpha-music": "drone", "beta-music": "beat", "gamma-music": "drone"}
    for a, (album, style) in enumerate(styles.items()):
        for n in range(4):
            make_track(root / album / f"{album[0]}{n}.ogg", style, seed=10 * a + n, seconds=8.0)
        (root / album / "COPYRIGHT").write_text("Files: *\nLicense: GPL-2+\n")
    make_track(root / "alpha-music" / "a1_fast.ogg", "drone", seed=1, seconds=7.0)
    make_track(root / "alpha-music" / "tiny.ogg", "drone", seed=99, seconds=3.0)
    return root


@pytest.mark.slow
def test_the_benchmark_scores_every_metric_in_range_overall_and_per_package_and_keeps_fast_variants_in_one_group(
    music: Path, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    packages = ("alpha-music", "beta-music", "gamma-music", "neverball-data")
    mfcc = [r for r in bench_quality.ROWS if r.key == "mfcc"]
    report = bench_quality.run(
        work,
        music,
        tmp_path / "debs",
        mfcc,
        packages=packages,
        seeds=3,
        listeners=4,
        excerpt_seconds=2.0,
        candidates=["mfcc"],
    )

    data = report["data"]
    assert data["packages"]["alpha-music"]["left_out_short"] == ["tiny.ogg"]
    assert data["packages"]["alpha-music"]["groups"] == 4  # a1 and a1_fast are one group
    assert data["packages"]["alpha-music"]["tracks"] == 5
    assert "neverball-data" in data["skipped_packages"]
    manifest = json.loads((work / "excerpts.json").read_text())
    fast = [e for e in manifest["excerpts"] if "a1_fast" in e["path"]]
    assert fast and {e["group"] for e in fast} == {"alpha-music/a1"}

    scores = report["rows"]["mfcc"]
    for metric in ("same_track_r1", "same_album_p10", "tagging_head", "tagging_lr", "playlist_precision"):
        value = scores[metric]
        assert 0.0 <= value["min"] <= value["median"] <= value["max"] <= 1.0, metric
        assert len(value["seeds"]) == 3
    # drones and beats are far apart in MFCC space: the album is found, well above the 1/3 of chance
    assert scores["same_album_p10"]["median"] > 0.5
    for run in scores["tagging_runs"]:
        assert run["labelled"] + run["unlabelled"] == scores["excerpts"]
    assert (work / "quality.md").read_text().count("MFCC statistics") == 2  # overall and held-out tables
    assert (work / "quality.png").stat().st_size > 1000
    per_package = scores["per_package"]
    assert set(per_package) == set(packages) - {"neverball-data"}
    for values in per_package.values():
        for metric in ("same_track_r1", "same_album_p10", "tagging_head", "tagging_lr", "ece"):
            assert 0.0 <= values[metric] <= 1.0, metric
    assert sum(v["calls"] for v in per_package.values()) == sum(r["unlabelled"] for r in scores["tagging_runs"])
    assert all("calls" not in r for r in scores["tagging_runs"])
    assert any("playlist_precision" in v for v in per_package.values())
    assert sum(scores["reliability"]["calls"]) == sum(v["calls"] for v in per_package.values())
    assert report["held_out"]["chosen"] == {a: "mfcc" for a in packages[:3]}
    assert "Held-out packages" in (work / "quality.md").read_text()
    assert (work / "reliability.png").stat().st_size > 1000


@pytest.mark.slow
def test_projected_lopo_scores_every_package_held_out_beside_untouched_fusion(music: Path, tmp_path: Path) -> None:
    packages = ("alpha-music", "beta-music", "gamma-music")
    report = bench_quality.run(
        tmp_path / "work",
        music,
        tmp_path / "debs",
        [bench_quality.PROJECTED_LOPO],
        packages=packages,
        seeds=2,
        listeners=2,
        excerpt_seconds=2.0,
    )
    scores = report["rows"]["projected-lopo"]
    for name in ("held_out_projected", "held_out_fusion-penult"):
        assert set(scores[name]["per_package"]) == set(packages)
        for metric in ("same_track_r1", "same_album_p10"):
            assert 0.0 <= scores[name][metric]["min"] <= scores[name][metric]["max"] <= 1.0
    assert scores["same_album_p10"] == scores["held_out_projected"]["same_album_p10"]


@pytest.mark.slow
def test_retrieval_through_the_similar_track_ranking_matches_the_stored_vectors_and_segments_are_backfilled(
    music: Path, tmp_path: Path
) -> None:
    """Without segments the ranking path counts what the stored vectors give; the segment row computes the segments
    the ingest (without MusiCNN here) left out, through the product's refresh, and scores in range."""
    keys = ("fusion-penult", "fusion-penult-ranked", "fusion-segments")
    rows = [r for r in bench_quality.ROWS if r.key in keys]
    report = bench_quality.run(
        tmp_path / "work",
        music,
        tmp_path / "debs",
        rows,
        packages=("alpha-music", "beta-music", "gamma-music"),
        seeds=2,
        listeners=2,
        excerpt_seconds=2.0,
    )
    plain, control, segments = (report["rows"][k] for k in keys)
    assert control["all_excerpts"] == plain["all_excerpts"]
    assert segments["excerpts"] == plain["excerpts"]
    for metric in ("same_track_r1", "same_album_p10"):
        assert 0.0 <= segments[metric]["min"] <= segments[metric]["max"] <= 1.0, metric
    assert "tagging_head" not in segments
