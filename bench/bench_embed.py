"""Embedding study on the synthesised genre corpus: MFCC baseline vs MusiCNN vs a trained CNN.

Usage: python bench/bench_embed.py [CORPUS_DIR] (renders or reuses the corpus there; cache it under /tmp).
Every model is scored with the same held-out pieces (``split_by_piece``) by the same softmax head.
Prints a JSON summary: genre accuracy/macro-F1 per representation, the patch-count policy (4, 8, all),
MFCC statistics concatenated to MusiCNN, and encoder throughput (tracks/s, median of repeats) as
ratios to the MFCC baseline measured in the same run.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from soundalike.embed.evaluation import evaluate_classification
from soundalike.embed.genre_head import fit_softmax, probabilities
from soundalike.embed.musicnn import load_musicnn
from soundalike.embed.patch_embeddings import patch_embeddings, unit_rows
from soundalike.embed.trained_cnn import crop_embeddings, track_vector
from soundalike.embed.training import TrainConfig, train_network
from soundalike.ingest.audio import load
from soundalike.ingest.corpus import build_corpus, split_by_piece
from soundalike.ingest.features import mfcc_stats_vector
from soundalike.ingest.logmel import SAMPLE_RATE, musicnn_logmel, patches

REPEATS = 3
THROUGHPUT_TRACKS = 8


def spread(n_total: int, limit: int | None) -> np.ndarray:
    if limit is None or n_total <= limit:
        return np.arange(n_total)
    return np.linspace(0, n_total - 1, limit).round().astype(int)


def head_scores(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, classes: list[str]
) -> dict[str, float]:
    mean, std = x_train.mean(axis=0), x_train.std(axis=0) + 1e-6
    w, b = fit_softmax((x_train - mean) / std, y_train, len(classes))
    predicted = probabilities((x_test - mean) / std, w, b, 1.0).argmax(axis=1)
    scores = evaluate_classification(y_test, predicted, classes)
    return {"accuracy": round(float(scores["accuracy"]), 3), "macro_f1": round(float(scores["macro_f1"]), 3)}  # type: ignore[arg-type]


def median_seconds(fn: object, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(corpus_dir: Path) -> None:
    torch.manual_seed(0)
    manifest = build_corpus(corpus_dir, per_genre=16, seconds=30.0, seed=0)
    train_paths, test_paths = split_by_piece(manifest)
    genre = {p.path: p.genre for p in manifest.pieces}
    piece = {p.path: p.piece for p in manifest.pieces}
    classes = sorted(set(genre.values()))
    paths = train_paths + test_paths
    is_test = np.array([p in set(test_paths) for p in paths])
    y = np.array([classes.index(genre[p]) for p in paths])
    model = load_musicnn("MSD_musicnn")

    mfcc, logmels, musicnn_patches = [], [], []
    for path in paths:
        audio = load(path, sr=22050)
        mfcc.append(mfcc_stats_vector(y=audio.samples, sr=audio.sample_rate))
        logmel = musicnn_logmel(y=load(path, sr=SAMPLE_RATE).samples)
        logmels.append(logmel)
        musicnn_patches.append(patch_embeddings(model, patches(logmel)))
    mfcc_x = np.stack(mfcc)

    def split(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return x[~is_test], y[~is_test], x[is_test], y[is_test]

    results: dict[str, object] = {}
    results["mfcc-stats"] = head_scores(*split(mfcc_x), classes)
    for limit in (4, 8, None):
        x = unit_rows(np.stack([m[spread(len(m), limit)].mean(axis=0) for m in musicnn_patches]))
        results[f"musicnn-msd patches={limit or 'all'}"] = head_scores(*split(x), classes)
    musicnn8 = unit_rows(np.stack([m[spread(len(m), 8)].mean(axis=0) for m in musicnn_patches]))
    mfcc_unit = unit_rows((mfcc_x - mfcc_x[~is_test].mean(0)) / (mfcc_x[~is_test].std(0) + 1e-6))
    results["musicnn-msd + mfcc-stats"] = head_scores(*split(np.hstack([musicnn8, mfcc_unit])), classes)

    train_idx = np.flatnonzero(~is_test)
    start = time.perf_counter()
    trained = train_network(
        [logmels[i] for i in train_idx],
        [classes[y[i]] for i in train_idx],
        [piece[paths[i]] for i in train_idx],
        TrainConfig(epochs=25, patience=5),
    )
    train_seconds = time.perf_counter() - start
    cnn_x = np.stack([track_vector(crop_embeddings(trained.model, m, 128)) for m in logmels])
    results["cnn-trained (small, from scratch)"] = {
        **head_scores(*split(cnn_x), classes),
        "best_epoch": trained.best_epoch,
        "train_seconds": round(train_seconds, 1),
    }

    sample = paths[:THROUGHPUT_TRACKS]

    def run_mfcc() -> None:
        for p in sample:
            audio = load(p, sr=22050)
            mfcc_stats_vector(y=audio.samples, sr=audio.sample_rate)

    def run_musicnn(limit: int | None) -> None:
        for p in sample:
            all_patches = patches(musicnn_logmel(y=load(p, sr=SAMPLE_RATE).samples))
            patch_embeddings(model, all_patches[spread(len(all_patches), limit)])

    def run_cnn() -> None:
        for p in sample:
            track_vector(crop_embeddings(trained.model, musicnn_logmel(y=load(p, sr=SAMPLE_RATE).samples), 128))

    baseline = median_seconds(run_mfcc)
    throughput = {"mfcc-stats": {"tracks_per_s": round(len(sample) / baseline, 2), "ratio": 1.0}}
    for name, fn in (
        ("musicnn-msd patches=4", lambda: run_musicnn(4)),
        ("musicnn-msd patches=8", lambda: run_musicnn(8)),
        ("musicnn-msd patches=all", lambda: run_musicnn(None)),
        ("cnn-trained", run_cnn),
    ):
        seconds = median_seconds(fn)
        throughput[name] = {"tracks_per_s": round(len(sample) / seconds, 2), "ratio": round(baseline / seconds, 3)}
    summary = {
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, CPU",
        "corpus": {"tracks": len(paths), "held_out": int(is_test.sum()), "seconds": 30.0, "classes": classes},
        "genre_accuracy_held_out_pieces": results,
        "throughput_30s_tracks": throughput,
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/soundalike-corpus"))
