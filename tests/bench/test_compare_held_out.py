"""Rows compared on chosen packages only, on hand-made reports whose answer is known."""

from __future__ import annotations

import json
from pathlib import Path

import compare_held_out
import pytest


def report(scores: dict[str, float], excerpts: dict[str, int]) -> dict[str, object]:
    """A report with one row ``r`` whose same-track R@1 per package is ``scores``."""
    per_package = {p: {"same_track_r1": v} for p, v in scores.items()}
    return {
        "data": {"packages": {p: {"excerpts": n} for p, n in excerpts.items()}},
        "rows": {"r": {"per_package": per_package}},
    }


def test_only_the_chosen_packages_count_weighted_by_their_excerpts() -> None:
    full = report({"seen": 0.0, "a": 0.8, "b": 0.5}, {"seen": 100, "a": 30, "b": 10})
    compared = compare_held_out.compare({"full": (full, "r")}, ["a", "b"])
    r1 = compared["full"]["same_track_r1"]
    assert r1["mean"] == pytest.approx((0.8 * 30 + 0.5 * 10) / 40)
    assert r1["spread"] == {"median": 0.65, "min": 0.5, "max": 0.8, "packages": 2}
    assert compared["full"]["same_album_p10"] == {"spread": None, "mean": None}


def test_the_table_gives_each_row_its_difference_to_the_first_in_points(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    full, student = tmp_path / "full.json", tmp_path / "student.json"
    full.write_text(json.dumps(report({"a": 0.8, "b": 0.6}, {"a": 10, "b": 10})))
    student.write_text(json.dumps(report({"a": 0.7, "b": 0.6}, {"a": 10, "b": 10})))
    compare_held_out.main(["--packages", "a,b", f"full={full}:r", f"student={student}:r"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].startswith("| full | 0.700<br>")
    assert lines[3].startswith("| student | 0.650 (-5.0)<br>0.650 [0.60, 0.70]")


def test_a_package_the_report_did_not_score_is_refused() -> None:
    with pytest.raises(SystemExit, match="full: no scores for c"):
        compare_held_out.compare({"full": (report({"a": 1.0}, {"a": 1}), "r")}, ["a", "c"])
