"""Rows of one or more ``bench_quality`` reports compared on chosen packages only: the held-out side of a split.

A representation trained on some packages (a distilled student) is scored on the packages it never saw, against
the full model on the same packages: each metric's median [min, max] over those packages (``held_out.over_packages``)
and its excerpt-weighted mean, and the difference to the first row in points. Usage::

    .venv/bin/python bench/compare_held_out.py --packages hedgewars-data,flare-game \\
        full=quality-full.json:fusion-combined student=quality-student.json:fusion-combined
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from held_out import CHOICE_METRICS, CONFIDENCE_METRICS, SHOWN, over_packages, spread_cell

METRICS = CHOICE_METRICS + CONFIDENCE_METRICS


def excerpt_counts(report: Mapping[str, Any]) -> dict[str, int]:
    """Package -> excerpts the report's catalogue holds of it."""
    return {p: int(c.get("excerpts", 0)) for p, c in report.get("data", {}).get("packages", {}).items()}


def weighted_mean(
    per_package: Mapping[str, Mapping[str, float | None]], metric: str, weights: Mapping[str, int]
) -> float | None:
    """Mean of ``metric`` over the packages that have it, each weighted by its excerpts (equal weights when unknown)."""
    pairs = [(float(v), weights.get(p, 1) or 1) for p, s in per_package.items() if (v := s.get(metric)) is not None]
    if not pairs:
        return None
    values, counts = zip(*pairs, strict=True)
    return float(np.average(values, weights=counts))


def compare(
    rows: Mapping[str, tuple[Mapping[str, Any], str]], packages: Sequence[str]
) -> dict[str, dict[str, dict[str, Any]]]:
    """Name -> metric -> {"spread": median/min/max over ``packages``, "mean": excerpt-weighted mean}."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for name, (report, key) in rows.items():
        per_package = report["rows"][key]["per_package"]
        missing = [p for p in packages if p not in per_package]
        if missing:
            raise SystemExit(f"{name}: no scores for {', '.join(missing)}")
        chosen = {p: per_package[p] for p in packages}
        counts = excerpt_counts(report)
        out[name] = {
            m: {"spread": over_packages(s.get(m) for s in chosen.values()), "mean": weighted_mean(chosen, m, counts)}
            for m in METRICS
        }
    return out


def markdown(compared: Mapping[str, Mapping[str, Mapping[str, Any]]], packages: Sequence[str]) -> str:
    """One row per representation: each metric as weighted mean (points from the first row), median [min, max]."""
    names = list(compared)
    first = compared[names[0]]
    lines = [
        "| row | " + " | ".join(SHOWN[m] for m in METRICS) + " |",
        "|---|" + "---|" * len(METRICS),
    ]
    for name in names:
        cells = []
        for m in METRICS:
            mean, base = compared[name][m]["mean"], first[m]["mean"]
            if mean is None:
                cells.append("-")
                continue
            delta = "" if name == names[0] or base is None else f" ({100 * (mean - base):+.1f})"
            cells.append(f"{mean:.3f}{delta}<br>{spread_cell(compared[name][m]['spread'], len(packages))}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packages", required=True, help="comma-separated packages to score on")
    parser.add_argument("rows", nargs="+", help="NAME=REPORT.json:ROW_KEY, the first is the reference")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = parser.parse_args(argv)
    packages = [p for p in args.packages.split(",") if p]
    rows = {}
    for spec in args.rows:
        name, _, where = spec.partition("=")
        path, _, key = where.rpartition(":")
        rows[name] = (json.loads(Path(path).read_text()), key)
    compared = compare(rows, packages)
    print(json.dumps(compared, indent=1) if args.json else markdown(compared, packages))


if __name__ == "__main__":
    main()
