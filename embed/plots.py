"""PNG plots of evaluations and training, drawn off-screen (Agg) without touching global pyplot state."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from soundalike.embed.evaluation import reliability
from soundalike.embed.projection import pca_2d
from soundalike.ingest.atomic_files import atomic_write


def _save(figure: Figure, path: Path) -> Path:
    FigureCanvasAgg(figure)
    figure.tight_layout()
    return atomic_write(path, lambda tmp: figure.savefig(tmp, dpi=110, format="png"))


def confusion_png(confusion: np.ndarray, classes: list[str], path: Path, *, title: str = "Genre confusion") -> Path:
    """Confusion matrix (rows: reference, columns: predicted) with counts in the cells."""
    matrix = np.asarray(confusion)
    figure = Figure(figsize=(2 + 0.9 * len(classes), 1.5 + 0.8 * len(classes)))
    ax = figure.add_subplot()
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("reference")
    ax.set_title(title)
    for (row, col), value in np.ndenumerate(matrix):
        colour = "white" if value > matrix.max() / 2 else "black"
        ax.text(col, row, str(value), ha="center", va="center", color=colour)
    return _save(figure, path)


def reliability_png(
    confidence: np.ndarray, correct: np.ndarray, path: Path, *, n_bins: int = 10, title: str = "Reliability"
) -> Path:
    """Reliability diagram: accuracy against mean confidence per equal-width confidence bin (the diagonal is
    perfect calibration), with how many calls fall in each bin beneath."""
    table = reliability(confidence, correct, n_bins=n_bins)
    centres = (table.bins + 0.5) / n_bins
    figure = Figure(figsize=(4.5, 5.5))
    ax, counts = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": (3, 1)})
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect")
    ax.bar(centres, table.accuracy, width=0.9 / n_bins, label="accuracy")
    ax.plot(table.confidence, table.accuracy, "o", color="black", label="mean confidence")
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper left")
    counts.bar(centres, table.calls, width=0.9 / n_bins, color="grey")
    counts.set_xlim(0, 1)
    counts.set_xlabel("confidence")
    counts.set_ylabel("calls")
    return _save(figure, path)


def embedding_map_png(vectors: np.ndarray, labels: list[str], path: Path, *, title: str = "Embedding map") -> Path:
    """Scatter of the embeddings' first two principal components, one colour per label."""
    coords = pca_2d(vectors)
    figure = Figure(figsize=(7, 5.5))
    ax = figure.add_subplot()
    names = sorted(set(labels))
    palette = colormaps["tab20" if len(names) > 10 else "tab10"]
    for n, name in enumerate(names):
        mask = np.array([label == name for label in labels])
        ax.scatter(coords[mask, 0], coords[mask, 1], s=18, label=name, color=palette(n % palette.N))
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.set_title(title)
    ax.legend(fontsize="small", loc="best")
    return _save(figure, path)


def curves_png(history: dict[str, list[float]], path: Path, *, title: str = "Training") -> Path:
    """Loss curves (left) and accuracy curves (right) per epoch; keys ending in ``loss`` go left."""
    figure = Figure(figsize=(10, 4))
    loss_ax, acc_ax = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
    for name, values in history.items():
        ax = loss_ax if name.endswith("loss") else acc_ax
        ax.plot(range(1, len(values) + 1), values, label=name)
    for ax, label in ((loss_ax, "loss"), (acc_ax, "accuracy")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.legend(fontsize="small")
    figure.suptitle(title)
    return _save(figure, path)
