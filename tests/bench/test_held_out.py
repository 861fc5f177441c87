"""Per-package scores and the leave-one-package-out choice, on hand-made scores whose answer is known."""

from __future__ import annotations

from pathlib import Path

import held_out
import numpy as np
import pytest


def test_package_means_leave_out_nan_and_packages_without_a_value() -> None:
    values = np.array([1.0, 0.0, np.nan, 0.5, np.nan])
    packages = ["a", "a", "a", "b", "c"]
    assert held_out.package_means(values, packages, "m") == {"a": {"m": 0.5}, "b": {"m": 0.5}}


def test_each_package_is_scored_by_the_row_best_on_the_other_packages() -> None:
    per_package = {
        "sharp": {"p1": {"m": 1.0}, "p2": {"m": 0.0}, "p3": {"m": 0.0}},
        "flat": {"p1": {"m": 0.4}, "p2": {"m": 0.4}, "p3": {"m": 0.4}},
    }
    # without p1 sharp averages 0.0 < 0.4; without p2 or p3 it averages 0.5 > 0.4
    chosen = held_out.choose_per_package(per_package, ["sharp", "flat"], ("m",))
    assert chosen == {"p1": "flat", "p2": "sharp", "p3": "sharp"}


def test_the_choice_averages_each_metric_over_the_packages_that_have_it_and_ties_go_to_the_earlier_row() -> None:
    per_package = {
        "a": {"p1": {"m": 0.5, "n": 0.5}, "p2": {"m": 0.5, "n": None}, "p3": {"m": 0.5}},
        "b": {"p1": {"m": 0.5, "n": 0.5}, "p2": {"m": 0.5, "n": 0.5}, "p3": {"m": 0.5, "n": 0.5}},
    }
    assert held_out.mean_elsewhere(per_package["a"], "p3", ("m", "n")) == pytest.approx(0.5)
    assert held_out.choose_per_package(per_package, ["b", "a"], ("m", "n")) == {"p1": "b", "p2": "b", "p3": "b"}
    assert held_out.choose_per_package(per_package, ["a", "b"], ("m", "n")) == {"p1": "a", "p2": "a", "p3": "a"}


def scores(value: float) -> dict[str, float | None]:
    return {m: value for m in held_out.CHOICE_METRICS} | {"ece": 0.1 * value, "over_0.9_wrong": None}


def test_the_report_scores_each_chosen_row_on_its_held_out_package_and_leaves_peers_out_by_default() -> None:
    rows = {
        "mfcc": {"label": "peer", "per_package": {p: scores(0.9) for p in ("p1", "p2", "p3")}},
        "early": {"label": "old row, no per-package scores"},
        "sharp": {"label": "sharp", "per_package": {"p1": scores(1.0), "p2": scores(0.0), "p3": scores(0.0)}},
        "flat": {"label": "flat", "per_package": {p: scores(0.4) for p in ("p1", "p2", "p3")}},
    }
    report = held_out.held_out_report(rows, None)

    assert report["candidates"] == ["sharp", "flat"]
    assert report["chosen"] == {"p1": "flat", "p2": "sharp", "p3": "sharp"}
    assert report["times_chosen"] == {"sharp": 2, "flat": 1}
    # scored on p1 by flat (0.4), on p2 and p3 by sharp (0.0)
    assert report["chosen_scores"]["same_track_r1"] == {"median": 0.0, "min": 0.0, "max": 0.4, "packages": 3}
    assert report["chosen_scores"]["ece"]["max"] == pytest.approx(0.04)
    assert report["chosen_scores"]["over_0.9_wrong"] is None
    assert report["rows"]["sharp"]["tagging_head"] == {"median": 0.0, "min": 0.0, "max": 1.0, "packages": 3}
    assert set(report["rows"]) == {"mfcc", "sharp", "flat"}
    assert held_out.held_out_report(rows, ["mfcc", "flat"])["chosen"] == {p: "mfcc" for p in ("p1", "p2", "p3")}

    table = held_out.held_out_markdown(report, {k: str(r["label"]) for k, r in rows.items()})
    assert "| **chosen on the other packages** | 0.000 [0.00, 0.40] |" in table
    assert "| p1 | flat | 0.400 |" in table
    assert "Times chosen: sharp 2/3, flat 1/3" in table


def test_confidence_stats_count_the_sure_calls_that_were_wrong() -> None:
    confidence = np.array([0.95, 0.95, 0.99, 0.6])
    right = np.array([True, False, True, True])
    stats = held_out.confidence_stats(confidence, right)
    # bin (0.9, 1]: mean confidence 0.9633, 2 of 3 right; bin (0.5, 0.6]: 0.6, right
    expected_ece = 3 / 4 * abs(2 / 3 - (0.95 + 0.95 + 0.99) / 3) + 1 / 4 * 0.4
    assert stats == {"calls": 4, "ece": pytest.approx(expected_ece, abs=1e-4), "over_0.9": 3, "over_0.9_wrong": 0.3333}
    assert held_out.confidence_stats(np.array([0.5]), np.array([True]))["over_0.9_wrong"] is None
    per_package = held_out.package_confidence(confidence, right, ["a", "a", "b", "b"])
    assert per_package["a"]["over_0.9_wrong"] == 0.5 and per_package["b"]["over_0.9_wrong"] == 0.0


def test_the_reliability_diagram_draws_one_line_per_row(tmp_path: Path) -> None:
    table = held_out.reliability_table(np.array([0.95, 0.95, 0.6]), np.array([True, False, True]))
    assert table["calls"] == [1, 2] and table["accuracy"] == [1.0, 0.5]
    held_out.reliability_png({"a row": table, "another": table}, tmp_path / "reliability.png")
    assert (tmp_path / "reliability.png").stat().st_size > 1000
