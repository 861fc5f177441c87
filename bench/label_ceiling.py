"""How far labels can take the stored vectors: the benchmark's packages tagged and searched with more labels.

``bench_quality.py`` labels a third of each package's track groups and asks for tagging >= 0.80 and same-album
P@10 >= 0.75 on packages no setting was chosen on. This script asks what the stored vectors allow at all: the
same excerpts and vectors (read from a ``bench_quality.py`` WORK folder: its ``excerpts.json`` and ingested
database), with a third of each package's track groups labelled as in the benchmark and then four fifths. For
every fold of track groups (stratified by package, so each package keeps its labelled share):
- **tagging**: a standardised logistic regression fitted on the labelled groups tags the others;
- **P@10 in a learnt metric**: a shrinkage LDA fitted on the labelled groups maps the whole catalogue, and each
  unlabelled excerpt's 10 nearest excerpts of other tracks are scored as in the benchmark.
Each is reported per package (median [min, max], the benchmark's held-out summary) and over all excerpts. A
score short of the target with four fifths of the labels says no tagger or metric built on these vectors with
the curator's third will reach it.

Run: ``python bench/label_ceiling.py WORK [--models fusion,musicnn-msd] [--json]`` after ``bench_quality.py
WORK`` has ingested and embedded its rows; writes ``WORK/ceiling.json`` and ``WORK/ceiling.md``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from held_out import over_packages, package_means
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.preprocessing import StandardScaler
from sqlalchemy import select

from soundalike.embed.evaluation import excerpt_neighbour_scores
from soundalike.embed.store import load_embeddings
from soundalike.ingest.db.models import Track
from soundalike.ingest.db.session import open_database, session_scope
from soundalike.ingest.paths import from_db_path

SHARES = (Fraction(1, 3), Fraction(4, 5))
MODELS = ("fusion", "musicnn-msd")
TARGETS = {"tagging": 0.80, "p10": 0.75}


@dataclass(frozen=True)
class Excerpts:
    """Stored vectors with their truth: the package (class) and track group of each excerpt."""

    vectors: np.ndarray
    albums: np.ndarray
    groups: np.ndarray


def load_excerpts(work: Path, model: str) -> Excerpts:
    """One model's stored vectors of the benchmark's excerpts, in track-id order, with their package and group."""
    manifest = json.loads((work / "excerpts.json").read_text())
    truth = {e["path"]: (e["album"], e["group"]) for e in manifest["excerpts"]}
    factory = open_database(f"sqlite:///{work / 'real' / 'bench.db'}")
    with session_scope(factory) as session:
        ids, vectors, _ = load_embeddings(session, model)
        paths = dict(session.execute(select(Track.id, Track.path)).all())
    keys = [str(from_db_path(paths[int(i)]).absolute()) for i in ids]
    keep = np.array([k in truth for k in keys], dtype=bool)
    known = [truth[k] for k, kept in zip(keys, keep, strict=True) if kept]
    return Excerpts(
        np.asarray(vectors[keep], dtype=np.float64),
        np.array([a for a, _ in known], dtype=object),
        np.array([g for _, g in known], dtype=object),
    )


def labelled_folds(excerpts: Excerpts, share: Fraction, seed: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(labelled, unlabelled) excerpt indices per fold: ``share`` of each package's track groups labelled, whole
    groups on one side; with n folds every excerpt is unlabelled in n-1 folds (share 1/n) or in one ((n-1)/n)."""
    if share.numerator != 1 and share.denominator - share.numerator != 1:
        raise ValueError(f"share must be 1/n or (n-1)/n, got {share}")
    splits = StratifiedGroupKFold(n_splits=share.denominator, shuffle=True, random_state=seed)
    for rest, fold in splits.split(excerpts.vectors, excerpts.albums, excerpts.groups):
        yield (fold, rest) if share.numerator == 1 else (rest, fold)


def fold_scores(excerpts: Excerpts, labelled: np.ndarray, unlabelled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For the unlabelled excerpts: tagging hits of a standardised logistic regression and P@10 in the LDA metric,
    both fitted on the labelled excerpts only."""
    y = excerpts.albums
    scaled = StandardScaler().fit(excerpts.vectors[labelled]).transform(excerpts.vectors)
    tagger = LogisticRegression(max_iter=3000).fit(scaled[labelled], y[labelled])
    hits = (tagger.predict(scaled[unlabelled]) == y[unlabelled]).astype(np.float64)
    lda = LinearDiscriminantAnalysis(solver="eigen", shrinkage="auto").fit(scaled[labelled], y[labelled])
    _, precision = excerpt_neighbour_scores(lda.transform(scaled), list(excerpts.groups), list(y), metric="euclidean")
    return hits, precision[unlabelled]


def ceiling(excerpts: Excerpts, share: Fraction, seed: int = 0) -> dict[str, dict[str, object]]:
    """Per metric (tagging, p10): the per-package summary and the mean over all excerpts at a labelled share (an
    excerpt unlabelled in several folds counts with its mean over them)."""
    n = len(excerpts.albums)
    tagging_sum, p10_sum, folds = np.zeros(n), np.zeros(n), np.zeros(n)
    for labelled, unlabelled in labelled_folds(excerpts, share, seed):
        hits, precision = fold_scores(excerpts, labelled, unlabelled)
        tagging_sum[unlabelled] += hits
        p10_sum[unlabelled] += precision
        folds[unlabelled] += 1
    return {
        "tagging": summarise(tagging_sum / folds, excerpts.albums),
        "p10": summarise(p10_sum / folds, excerpts.albums),
    }


def untouched_p10(excerpts: Excerpts) -> dict[str, object]:
    """Same-album P@10 of the stored vectors as they are (cosine), per package and over all excerpts."""
    _, precision = excerpt_neighbour_scores(excerpts.vectors, list(excerpts.groups), list(excerpts.albums))
    return summarise(precision, excerpts.albums)


def summarise(values: np.ndarray, albums: np.ndarray) -> dict[str, object]:
    """Per-excerpt values (NaN: none) as the spread over packages of their means, the mean over all excerpts,
    and each package's mean."""
    per_package = {p: v["value"] for p, v in package_means(values, albums, "value").items()}
    return {
        "packages": over_packages(per_package.values()),
        "all": round(float(np.nanmean(values)), 4),
        "per_package": per_package,
    }


def cell(summary: dict[str, object]) -> str:
    spread = summary["packages"]
    assert isinstance(spread, dict)
    return f"{spread['median']:.3f} [{spread['min']:.2f}, {spread['max']:.2f}] / {summary['all']:.3f}"


def markdown(report: dict[str, dict[str, object]]) -> str:
    lines = [
        "| model | labelled share of each package | tagging, LR: per package median [min, max] / all | "
        "same-album P@10: per package / all |",
        "|---|---|---|---|",
    ]
    for model, rows in report.items():
        lines.append(f"| {model} | none (stored vectors, cosine) | - | {cell(rows['untouched'])} |")  # type: ignore[arg-type]
        for share in SHARES:
            row = rows[str(share)]
            assert isinstance(row, dict)
            lines.append(f"| {model} | {share} | {cell(row['tagging'])} | {cell(row['p10'])} (LDA metric) |")
    lines.append(f"| target | | {TARGETS['tagging']:.2f} | {TARGETS['p10']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path, help="a bench_quality.py WORK folder")
    parser.add_argument("--models", default=",".join(MODELS), help="stored embedding models, comma-separated")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    report: dict[str, dict[str, object]] = {}
    for model in args.models.split(","):
        excerpts = load_excerpts(args.work, model)
        report[model] = {"excerpts": len(excerpts.albums), "untouched": untouched_p10(excerpts)}
        report[model].update({str(share): ceiling(excerpts, share) for share in SHARES})
    (args.work / "ceiling.json").write_text(json.dumps(report, indent=2))
    table = markdown(report)
    (args.work / "ceiling.md").write_text(table)
    print(json.dumps(report, indent=2) if args.json else table)


if __name__ == "__main__":
    main()
