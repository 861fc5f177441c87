"""Per-package scores and the honest choice of a row: chosen on the other packages, scored on the one left out.

Every row's metrics are also kept per package (one package = one album = one class): a per-excerpt or per-call
value counts for the package of its query, track or liked album. Leave one package out, rotating: for each
package P the candidate row with the best mean, over ``CHOICE_METRICS``, of its mean on the other packages is
chosen, and its score on P is what the choice is worth on music it was not chosen on. Confidences of the
product's own genre calls are reported per package too: expected calibration error and how often a call above
``SURE`` was wrong; they are reported for the chosen row, never chosen on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from soundalike.embed.evaluation import calibration_error, reliability

CHOICE_METRICS = ("same_track_r1", "same_album_p10", "tagging_head", "tagging_lr", "playlist_precision")
CONFIDENCE_METRICS = ("ece", "over_0.9_wrong")
SHOWN = {
    "same_track_r1": "same-track R@1",
    "same_album_p10": "same-album P@10",
    "tagging_head": "tagging, head",
    "tagging_lr": "tagging, LR",
    "playlist_precision": "playlist precision",
    "ece": "ECE",
    "over_0.9_wrong": "wrong above 0.9",
}
PEERS = ("mfcc", "bliss")
SURE = 0.9

PerPackage = Mapping[str, Mapping[str, float | None]]
"""Package -> metric -> value (None or absent where the package has none)."""


def package_means(values: Iterable[float], packages: Iterable[str], metric: str) -> dict[str, dict[str, float]]:
    """Package -> {metric: mean of its values}, NaN left out; a package with no value is left out."""
    by_package: dict[str, list[float]] = {}
    for value, package in zip(values, packages, strict=True):
        if not np.isnan(value):
            by_package.setdefault(package, []).append(float(value))
    return {p: {metric: round(float(np.mean(v)), 4)} for p, v in sorted(by_package.items())}


def confidence_stats(confidence: np.ndarray, correct: np.ndarray) -> dict[str, float | int | None]:
    """Calls, expected calibration error, calls above ``SURE`` and the share of those that were wrong (None: none)."""
    confidence, correct = np.asarray(confidence, np.float64), np.asarray(correct, bool)
    sure = confidence > SURE
    return {
        "calls": int(confidence.size),
        "ece": round(calibration_error(confidence, correct), 4),
        "over_0.9": int(sure.sum()),
        "over_0.9_wrong": round(float(1.0 - correct[sure].mean()), 4) if sure.any() else None,
    }


def package_confidence(confidence: np.ndarray, correct: np.ndarray, packages: list[str]) -> dict[str, dict]:
    """Package -> ``confidence_stats`` of the calls on its tracks."""
    names = np.asarray(packages, dtype=object)
    return {
        p: confidence_stats(np.asarray(confidence)[names == p], np.asarray(correct)[names == p])
        for p in sorted(set(packages))
    }


def reliability_table(confidence: np.ndarray, correct: np.ndarray) -> dict[str, object]:
    """All calls' reliability bins (mean confidence, accuracy, calls) and ECE, as JSON-ready lists."""
    table = reliability(confidence, correct)
    return {
        "confidence": [round(float(c), 4) for c in table.confidence],
        "accuracy": [round(float(a), 4) for a in table.accuracy],
        "calls": [int(n) for n in table.calls],
        "ece": round(calibration_error(confidence, correct), 4),
    }


def merge(*parts: Mapping[str, Mapping[str, object]]) -> dict[str, dict[str, object]]:
    """Package-keyed dicts merged package by package."""
    out: dict[str, dict[str, object]] = {}
    for part in parts:
        for package, values in part.items():
            out.setdefault(package, {}).update(values)
    return dict(sorted(out.items()))


def mean_elsewhere(scores: PerPackage, left_out: str, metrics: Iterable[str]) -> float:
    """Mean over ``metrics`` of each metric's mean over the packages other than ``left_out`` (missing left out)."""
    means = []
    for metric in metrics:
        values = [float(x) for p, v in scores.items() if p != left_out and (x := v.get(metric)) is not None]
        if values:
            means.append(float(np.mean(values)))
    return float(np.mean(means)) if means else float("-inf")


def choose_per_package(
    per_package: Mapping[str, PerPackage], candidates: list[str], metrics: Iterable[str] = CHOICE_METRICS
) -> dict[str, str]:
    """Package -> the candidate row best on the other packages (``mean_elsewhere``; ties to the earlier candidate)."""
    metrics = tuple(metrics)
    packages = sorted({p for key in candidates for p in per_package[key]})
    chosen = {}
    for package in packages:
        score = {key: mean_elsewhere(per_package[key], package, metrics) for key in candidates}
        chosen[package] = max(candidates, key=lambda key: (score[key], -candidates.index(key)))
    return chosen


def over_packages(values: Iterable[float | None]) -> dict[str, float | int] | None:
    """Median, min and max over packages of the values they have, and how many had one; None when none did."""
    kept = [float(v) for v in values if v is not None]
    if not kept:
        return None
    return {"median": round(float(np.median(kept)), 4), "min": min(kept), "max": max(kept), "packages": len(kept)}


def held_out_report(rows: Mapping[str, Mapping[str, object]], candidates: list[str] | None) -> dict[str, object]:
    """The leave-one-package-out choice among ``candidates`` (default: every row with per-package scores but the
    peers), the chosen rows' scores on the packages they were not chosen on, and every row's spread over packages."""
    scored = {k: r["per_package"] for k, r in rows.items() if isinstance(r.get("per_package"), dict)}
    pool = [k for k in (candidates or [k for k in scored if k not in PEERS]) if k in scored]
    if not pool:
        return {}
    per_package: dict[str, PerPackage] = scored  # type: ignore[assignment]
    chosen = choose_per_package(per_package, pool)
    metrics = CHOICE_METRICS + CONFIDENCE_METRICS
    return {
        "candidates": pool,
        "choice_metrics": list(CHOICE_METRICS),
        "chosen": chosen,
        "chosen_on_package": {p: {m: per_package[k][p].get(m) for m in metrics} for p, k in chosen.items()},
        "times_chosen": {k: sum(c == k for c in chosen.values()) for k in pool},
        "chosen_scores": {m: over_packages(per_package[k][p].get(m) for p, k in chosen.items()) for m in metrics},
        "rows": {
            key: {m: over_packages(v.get(m) for v in scores.values()) for m in metrics}
            for key, scores in per_package.items()
        },
    }


def spread_cell(value: Mapping[str, float] | None, packages: int) -> str:
    """``median [min, max]`` over packages, with how many packages when some had no value; a dash for none."""
    if not value:
        return "-"
    text = f"{value['median']:.3f} [{value['min']:.2f}, {value['max']:.2f}]"
    return text if value["packages"] == packages else f"{text} (n={value['packages']})"


def held_out_markdown(held_out: Mapping[str, object], labels: Mapping[str, str]) -> str:
    """The held-out tables: chosen row and every row (median [min, max] over packages), then the choice per package."""
    if not held_out:
        return ""
    chosen: dict[str, str] = held_out["chosen"]  # type: ignore[assignment]
    n = len(chosen)
    metrics = CHOICE_METRICS + CONFIDENCE_METRICS
    lines = [
        f"\n### Held-out packages: each of {n} packages scored by the row chosen on the other {n - 1}\n",
        f"Candidates: {', '.join(held_out['candidates'])}; chosen by the mean of "  # type: ignore[arg-type]
        + ", ".join(SHOWN[m] for m in CHOICE_METRICS)
        + f" over the other packages. Cells: median [min, max] over packages. Wrong above 0.9: share of the head's "
        f"calls with confidence > {SURE} that were wrong.\n",
        "| row | " + " | ".join(SHOWN[m] for m in metrics) + " |",
        "|---|" + "---|" * len(metrics),
        "| **chosen on the other packages** | "
        + " | ".join(spread_cell(held_out["chosen_scores"][m], n) for m in metrics)  # type: ignore[index]
        + " |",
    ]
    for key, spreads in held_out["rows"].items():  # type: ignore[attr-defined]
        lines.append(f"| {labels.get(key, key)} | " + " | ".join(spread_cell(spreads[m], n) for m in metrics) + " |")
    times = held_out["times_chosen"]
    lines.append("\nTimes chosen: " + ", ".join(f"{k} {c}/{n}" for k, c in times.items()) + "\n")  # type: ignore[attr-defined]
    lines += [
        "| held-out package | chosen row | " + " | ".join(SHOWN[m] for m in metrics) + " |",
        "|---|---|" + "---|" * len(metrics),
    ]
    for package, key in chosen.items():
        values = held_out["chosen_on_package"][package]  # type: ignore[index]
        cells = " | ".join("-" if values[m] is None else f"{values[m]:.3f}" for m in metrics)
        lines.append(f"| {package} | {key} | {cells} |")
    return "\n".join(lines) + "\n"


def reliability_png(rows: Mapping[str, Mapping[str, Any]], path: Path) -> None:
    """Reliability diagram of the head's calls on every package, one line of bins per row (label, ECE, calls)."""
    fig = Figure(figsize=(5.5, 5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect")
    for label, table in rows.items():
        calls = sum(table["calls"])
        ax.plot(table["confidence"], table["accuracy"], "o-", label=f"{label[:40]} (ECE {table['ece']:.3f}, {calls})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (mean of the bin)")
    ax.set_ylabel("accuracy")
    ax.set_title("Genre calls on every package: reliability")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
