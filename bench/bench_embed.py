"""Embedding study on the synthesised genre corpus: MFCC baseline vs MusiCNN vs a trained CNN.

Usage (the corpus needs the ``[demo]`` extra, music21): python bench/bench_embed.py [CORPUS_DIR] (renders or
reuses the corpus there; cache it under /tmp);
``compare CORPUS_DIR`` (the three-way comparison over split seeds), ``real MUSIC_DIR`` (the recordings),
``representations CORPUS_DIR MUSIC_DIR`` (penultimate vs pooled mid-level MusiCNN features vs MFCC).
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
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import mutagen
import numpy as np
import torch

from soundalike.demo.corpus import build_corpus, split_by_piece
from soundalike.embed.evaluation import evaluate_classification
from soundalike.embed.genre_head import fit_head, group_split, probabilities
from soundalike.embed.musicnn import load_musicnn
from soundalike.embed.musicnn_frontend import SAMPLE_RATE, musicnn_logmel, patches, select_patches
from soundalike.embed.patch_embeddings import patch_embeddings
from soundalike.embed.trained_cnn import crop_embeddings, finetune_config, track_vector
from soundalike.embed.training import TrainConfig, train_network
from soundalike.embed.unit_norm import unit_rows
from soundalike.ingest.audio import load
from soundalike.ingest.errors import DecodeError
from soundalike.ingest.track_features import mfcc_stats_vector

REPEATS = 3
THROUGHPUT_TRACKS = 8


def spread(n_total: int, limit: int | None) -> np.ndarray:
    if limit is None or n_total <= limit:
        return np.arange(n_total)
    return np.linspace(0, n_total - 1, limit).round().astype(int)


def head_scores(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, classes: list[str]
) -> dict[str, float]:
    w, b = fit_head(x_train, y_train, len(classes))
    predicted = probabilities(x_test, w, b, 1.0).argmax(axis=1)
    scores = evaluate_classification(y_test, predicted, classes)
    return {"accuracy": round(float(scores["accuracy"]), 3), "macro_f1": round(float(scores["macro_f1"]), 3)}


def median_seconds(fn: object, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def corpus_features(corpus_dir: Path, model: torch.nn.Module) -> tuple[object, dict[str, np.ndarray], list]:
    """The corpus manifest, per-track MFCC statistics / MusiCNN patch embeddings, and log-mels (cached)."""
    manifest = build_corpus(corpus_dir, per_genre=16, seconds=30.0, seed=0)
    cache = corpus_dir / "bench-embed-features.npz"
    paths = [p.path for p in manifest.pieces]
    if cache.exists():
        data = np.load(cache, allow_pickle=False)
        logmels = [data[f"logmel_{n}"] for n in range(len(paths))]
        musicnn = [data[f"musicnn_{n}"] for n in range(len(paths))]
        return manifest, {"mfcc": data["mfcc"], "paths": data["paths"]}, [logmels, musicnn]
    mfcc, logmels, musicnn = [], [], []
    for path in paths:
        audio = load(path, sr=22050)
        mfcc.append(mfcc_stats_vector(y=audio.samples, sr=audio.sample_rate))
        logmel = musicnn_logmel(y=load(path, sr=SAMPLE_RATE).samples)
        logmels.append(logmel)
        musicnn.append(patch_embeddings(model, patches(logmel)))
    arrays = {f"logmel_{n}": m for n, m in enumerate(logmels)} | {f"musicnn_{n}": m for n, m in enumerate(musicnn)}
    np.savez(cache, mfcc=np.stack(mfcc), paths=np.array([str(p) for p in paths]), **arrays)
    return manifest, {"mfcc": np.stack(mfcc), "paths": np.array([str(p) for p in paths])}, [logmels, musicnn]


@dataclass
class LabelledCorpus:
    """The synthesised corpus with its cached features, genre labels (``y`` indexes ``classes``) and pieces."""

    manifest: Any
    data: dict[str, np.ndarray]
    logmels: list[np.ndarray]
    musicnn: list[np.ndarray]
    paths: list[str]
    classes: list[str]
    y: np.ndarray
    groups: list[str]


def labelled_corpus(corpus_dir: Path, model: torch.nn.Module) -> LabelledCorpus:
    """``corpus_features`` with each track's genre and piece, in the cache's track order."""
    manifest, data, (logmels, musicnn) = corpus_features(corpus_dir, model)
    genre = {str(p.path): p.genre for p in manifest.pieces}  # type: ignore[attr-defined]
    piece = {str(p.path): p.piece for p in manifest.pieces}  # type: ignore[attr-defined]
    paths = [str(p) for p in data["paths"]]
    classes = sorted(set(genre.values()))
    y = np.array([classes.index(genre[p]) for p in paths])
    return LabelledCorpus(manifest, data, logmels, musicnn, paths, classes, y, [piece[p] for p in paths])


def trained_scores(
    config: TrainConfig,
    logmels: list[np.ndarray],
    y: np.ndarray,
    groups: list[str],
    is_test: np.ndarray,
    classes: list[str],
) -> dict[str, object]:
    """Train on the training pieces only (early stopping on a group split of them); score its embedding."""
    train_idx = np.flatnonzero(~is_test)
    start = time.perf_counter()
    trained = train_network(
        [logmels[i] for i in train_idx], [classes[y[i]] for i in train_idx], [groups[i] for i in train_idx], config
    )
    seconds = time.perf_counter() - start
    x = np.stack([track_vector(crop_embeddings(trained.model, m, config.crop_frames)) for m in logmels])
    return {
        **head_scores(x[~is_test], y[~is_test], x[is_test], y[is_test], classes),
        "best_epoch": trained.best_epoch,
        "train_seconds": round(seconds, 1),
    }


RECIPES = {
    "cnn-trained (MusiCNN fine-tuned, front frozen)": finetune_config(
        TrainConfig(epochs=8, patience=3, crops_per_track=4, seed=0)
    ),
    "cnn-trained (small, from scratch, 8 crops/track)": TrainConfig(epochs=40, patience=8, crops_per_track=8, seed=0),
}


def comparison(corpus_dir: Path, seeds: list[int], out: Path) -> dict[str, object]:
    """MFCC stats vs MusiCNN vs trained CNNs on the same held-out pieces, for several seeded splits."""
    torch.manual_seed(0)
    model = load_musicnn("MSD_musicnn")
    corpus = labelled_corpus(corpus_dir, model)
    manifest, data, logmels, musicnn = corpus.manifest, corpus.data, corpus.logmels, corpus.musicnn
    paths, classes, y, groups = corpus.paths, corpus.classes, corpus.y, corpus.groups
    musicnn8 = unit_rows(np.stack([m[spread(len(m), 8)].mean(axis=0) for m in musicnn]))
    per_seed: dict[str, dict[str, object]] = {}
    splits = {}
    for seed in seeds:
        _, test_paths = split_by_piece(manifest, seed=seed)
        is_test = splits[seed] = np.isin(paths, [str(p) for p in test_paths])
        row: dict[str, object] = per_seed.setdefault(f"seed {seed}", {"held_out": int(is_test.sum())})
        for name, x in (("mfcc-stats", data["mfcc"]), ("musicnn-msd patches=8", musicnn8)):
            row[name] = head_scores(x[~is_test], y[~is_test], x[is_test], y[is_test], classes)
    for name, config in RECIPES.items():
        for seed in seeds:
            scores = trained_scores(replace(config, seed=seed), logmels, y, groups, splits[seed], classes)
            per_seed[f"seed {seed}"][name] = scores
            out.write_text(json.dumps(per_seed, indent=2))
    names = [k for k in next(iter(per_seed.values())) if k != "held_out"]
    result_note = {"seeds": seeds, "recipes": {k: asdict(v) for k, v in RECIPES.items()}}
    summary = {
        name: {
            "accuracy_mean": round(float(np.mean([r[name]["accuracy"] for r in per_seed.values()])), 3),  # type: ignore[index]
            "accuracy_std": round(float(np.std([r[name]["accuracy"] for r in per_seed.values()])), 3),  # type: ignore[index]
            "macro_f1_mean": round(float(np.mean([r[name]["macro_f1"] for r in per_seed.values()])), 3),  # type: ignore[index]
        }
        for name in names
    }
    result: dict[str, object] = {**result_note, "per_seed": per_seed, "summary": summary}
    out.write_text(json.dumps(result, indent=2))
    return result


def real_features(music_dir: Path, model: torch.nn.Module) -> dict[str, np.ndarray]:
    """Per .ogg under ``music_dir/<package>/``: package label, composer group, MFCC stats, MusiCNN, log-mel (cached).

    Audio follows the ingest analysis policy; the log-mel kept for training is 8 patches spread over it.
    """
    cache = music_dir / "bench-embed-real.npz"
    if cache.exists():
        return dict(np.load(cache, allow_pickle=False))
    paths = sorted(music_dir.glob("*/*.ogg"))
    rows: dict[str, list[object]] = {k: [] for k in ("label", "group", "mfcc", "musicnn")}
    logmels = []
    for path in paths:
        try:
            audio = load(path, sr=22050)
        except DecodeError:
            continue
        artist = (mutagen.File(path).tags or {}).get("artist")
        rows["label"].append(path.parent.name)
        rows["group"].append(f"artist:{artist[0]}" if artist else f"track:{path.name}")
        rows["mfcc"].append(mfcc_stats_vector(y=audio.samples, sr=audio.sample_rate))
        chosen = select_patches(patches(musicnn_logmel(y=load(path, sr=SAMPLE_RATE).samples)))
        rows["musicnn"].append(patch_embeddings(model, chosen).mean(axis=0))
        logmels.append(chosen.reshape(-1, chosen.shape[2]))
    arrays = {k: np.array(v) if k in ("label", "group") else np.stack(v) for k, v in rows.items()}  # type: ignore[arg-type]
    arrays |= {f"logmel_{n}": m for n, m in enumerate(logmels)}
    np.savez(cache, **arrays)  # type: ignore[arg-type]
    return arrays


def real_comparison(music_dir: Path, seeds: list[int], out: Path) -> dict[str, object]:
    """Which soundtrack (package) a held-out recording comes from, composers never on both sides."""
    data = real_features(music_dir, load_musicnn("MSD_musicnn"))
    labels, groups = [str(v) for v in data["label"]], [str(v) for v in data["group"]]
    classes = sorted(set(labels))
    y = np.array([classes.index(label) for label in labels])
    logmels = [data[f"logmel_{n}"] for n in range(len(labels))]
    musicnn = unit_rows(data["musicnn"])
    per_seed: dict[str, dict[str, object]] = {}
    for seed in seeds:
        is_test = group_split(groups, labels, test_fraction=0.3, seed=seed)
        row: dict[str, object] = {
            "held_out": int(is_test.sum()),
            "majority": round(float(np.bincount(y[is_test]).max() / is_test.sum()), 3),
        }
        for name, x in (("mfcc-stats", data["mfcc"]), ("musicnn-msd patches=8", musicnn)):
            row[name] = head_scores(x[~is_test], y[~is_test], x[is_test], y[is_test], classes)
        config = replace(next(iter(RECIPES.values())), seed=seed)
        row["cnn-trained (MusiCNN fine-tuned, front frozen)"] = trained_scores(
            config, logmels, y, groups, is_test, classes
        )
        per_seed[f"seed {seed}"] = row
        out.write_text(json.dumps(per_seed, indent=2))
    return {"classes": classes, "tracks": len(labels), "per_seed": per_seed}


def neighbour_precision(x: np.ndarray, labels: np.ndarray, groups: list[str], k: int = 5) -> float:
    """Mean share of each track's k cosine neighbours (other groups only) that carry its label."""
    unit = unit_rows(x)
    similarity = unit @ unit.T
    same_group = np.array(groups)[:, None] == np.array(groups)[None, :]
    similarity[same_group] = -np.inf
    nearest = np.argsort(-similarity, axis=1)[:, :k]
    return round(float((labels[nearest] == labels[:, None]).mean()), 3)


def representations(penultimate: np.ndarray, pooled: np.ndarray, mfcc: np.ndarray) -> dict[str, np.ndarray]:
    """The candidate track vectors: MusiCNN penultimate, pooled mid-level, their concatenation, and MFCC."""
    return {
        "mfcc-stats": mfcc,
        "musicnn penultimate (200)": unit_rows(penultimate),
        "musicnn pooled mid-level (1506)": unit_rows(pooled),
        "penultimate + pooled mid-level": np.hstack([unit_rows(penultimate), unit_rows(pooled)]),
    }


def representation_scores(
    xs: dict[str, np.ndarray], y: np.ndarray, groups: list[str], splits: list[np.ndarray], classes: list[str]
) -> dict[str, dict[str, float]]:
    """Per representation: head accuracy mean/sd over the splits, and neighbour label precision@5."""
    scores = {}
    for name, x in xs.items():
        accuracy = [head_scores(x[~t], y[~t], x[t], y[t], classes)["accuracy"] for t in splits]
        standardised = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-6) if name == "mfcc-stats" else x
        scores[name] = {
            "accuracy_mean": round(float(np.mean(accuracy)), 3),
            "accuracy_sd": round(float(np.std(accuracy)), 3),
            "neighbour_precision@5": neighbour_precision(standardised, y, groups),
        }
    return scores


def representation_study(corpus_dir: Path, music_dir: Path, seeds: list[int]) -> dict[str, object]:
    """Penultimate vs pooled mid-level MusiCNN features (and both) vs MFCC, on the corpus and the recordings."""
    model = load_musicnn("MSD_musicnn")
    c = labelled_corpus(corpus_dir, model)
    chosen = [patches(m)[spread(len(patches(m)), 8)] for m in c.logmels]
    pooled = np.stack([patch_embeddings(model, p, pooled=True).mean(axis=0) for p in chosen])
    penultimate = np.stack([m[spread(len(m), 8)].mean(axis=0) for m in c.musicnn])
    splits = [np.isin(c.paths, [str(p) for p in split_by_piece(c.manifest, seed=seed)[1]]) for seed in seeds]
    corpus = representation_scores(
        representations(penultimate, pooled, c.data["mfcc"]), c.y, c.groups, splits, c.classes
    )

    real = real_features(music_dir, model)
    labels, real_groups = [str(v) for v in real["label"]], [str(v) for v in real["group"]]
    real_classes = sorted(set(labels))
    real_y = np.array([real_classes.index(label) for label in labels])
    real_pooled = np.stack(
        [patch_embeddings(model, patches(real[f"logmel_{n}"]), pooled=True).mean(axis=0) for n in range(len(labels))]
    )
    real_splits = [group_split(real_groups, labels, test_fraction=0.3, seed=seed) for seed in seeds]
    recordings = representation_scores(
        representations(real["musicnn"], real_pooled, real["mfcc"]), real_y, real_groups, real_splits, real_classes
    )
    return {"seeds": seeds, "synthesised corpus (5 genres)": corpus, "recordings (2 soundtracks)": recordings}


def main(corpus_dir: Path) -> None:
    torch.manual_seed(0)
    model = load_musicnn("MSD_musicnn")
    corpus = labelled_corpus(corpus_dir, model)
    paths, classes, y, logmels = corpus.paths, corpus.classes, corpus.y, corpus.logmels
    musicnn_patches, mfcc_x = corpus.musicnn, corpus.data["mfcc"]
    is_test = np.isin(paths, [str(p) for p in split_by_piece(corpus.manifest)[1]])

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
        [corpus.groups[i] for i in train_idx],
        TrainConfig(epochs=25, patience=5),
    )
    train_seconds = time.perf_counter() - start
    cnn_x = np.stack([track_vector(crop_embeddings(trained.model, m, 128)) for m in logmels])
    results["cnn-trained (small, from scratch)"] = {
        **head_scores(*split(cnn_x), classes),
        "best_epoch": trained.best_epoch,
        "train_seconds": round(train_seconds, 1),
    }

    sample = [Path(p) for p in paths[:THROUGHPUT_TRACKS]]

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
    if len(sys.argv) > 2 and sys.argv[1] == "real":
        torch.set_num_threads(1)
        music = Path(sys.argv[2])
        print(json.dumps(real_comparison(music, [0, 1, 2], music / "bench-embed-real.json"), indent=2))
    elif len(sys.argv) > 3 and sys.argv[1] == "representations":
        torch.set_num_threads(1)
        print(json.dumps(representation_study(Path(sys.argv[2]), Path(sys.argv[3]), [0, 1, 2, 3, 4]), indent=2))
    elif len(sys.argv) > 2 and sys.argv[1] == "compare":
        print(
            json.dumps(
                comparison(Path(sys.argv[2]), [0, 1, 2], Path(sys.argv[2]) / "bench-embed-compare.json"), indent=2
            )
        )
    else:
        main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/soundalike-corpus"))
