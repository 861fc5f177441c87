"""Label spreading (Zhou et al. 2004, "Learning with local and global consistency") over a catalogue's rows.

The graph joins each row to its ``NEIGHBOURS`` nearest rows by cosine similarity, made symmetric (an edge
where either row is among the other's nearest), with affinity ``W`` 1 on an edge. With degrees ``D`` and
``S = D^-1/2 W D^-1/2``, the class scores iterate ``F <- alpha S F + (1 - alpha) Y`` from ``F = Y`` (one-hot
rows for labelled rows, zeros elsewhere) until no score moves more than ``TOLERANCE``: the fixed point
``(1 - alpha) (I - alpha S)^-1 Y``. ``alpha`` is how much of a row's score comes from its neighbours rather
than its own label; a label's weight falls by ``alpha`` at each step through the graph. ``ALPHA`` is
scikit-learn's default (0.2): Zhou's 0.99 tagged held-out albums of the test catalogue as well, but with
distributions so flat (mean top probability 0.46 against 0.96) that they needed a temperature of 0.1 to be
calibrated. Each row's scores, divided by their sum, are its
class distribution; a row no label reaches (no path, or scores below ``TOLERANCE``: beyond about 17 steps at
``ALPHA``) keeps zeros.
"""

from __future__ import annotations

import faiss
import numpy as np
import torch

from soundalike.embed.unit_norm import unit_rows

NEIGHBOURS = 5
ALPHA = 0.2
TOLERANCE = 1e-12
MAX_ITERATIONS = 1000


def neighbour_graph(x: np.ndarray, *, k: int = NEIGHBOURS) -> tuple[np.ndarray, np.ndarray]:
    """(sources, targets) of the symmetric k-NN graph of rows of ``x`` by cosine similarity, each edge both ways.

    A row is never its own neighbour; exact search (FAISS, inner product on unit rows).
    """
    n = len(x)
    if n < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    rows = np.ascontiguousarray(unit_rows(np.asarray(x, np.float32)), dtype=np.float32)
    _, found = faiss.knn(rows, rows, min(k + 1, n), faiss.METRIC_INNER_PRODUCT)
    own = found == np.arange(n)[:, None]
    keep = ~own & (found >= 0)
    keep[~own.any(axis=1), -1] = False
    sources = np.repeat(np.arange(n), found.shape[1])[keep.ravel()]
    targets = found.ravel()[keep.ravel()].astype(np.int64)
    edges = np.unique(np.concatenate([sources * n + targets, targets * n + sources]))
    return edges // n, edges % n


def spread_labels(
    x: np.ndarray, labels: np.ndarray, n_classes: int, *, k: int = NEIGHBOURS, alpha: float = ALPHA
) -> np.ndarray:
    """(rows, classes) class distribution of every row of ``x`` by label spreading from ``labels``.

    ``labels`` holds a class index per row, -1 for unlabelled rows. Rows no labelled row reaches are all zero.
    """
    labels = np.asarray(labels, np.int64)
    n = len(labels)
    sources, targets = neighbour_graph(x, k=k)
    degree = np.bincount(sources, minlength=n).astype(np.float64)
    weight = torch.from_numpy(1.0 / np.sqrt(degree[sources] * degree[targets]))[:, None]
    into, out_of = torch.from_numpy(sources), torch.from_numpy(targets)
    y = torch.zeros((n, n_classes), dtype=torch.float64)
    seeded = np.flatnonzero(labels >= 0)
    y[seeded, labels[seeded]] = 1.0
    f = y.clone()
    for _ in range(MAX_ITERATIONS):
        spread = torch.zeros_like(f).index_add_(0, into, weight * f[out_of])
        following = alpha * spread + (1.0 - alpha) * y
        moved = float((following - f).abs().max()) if n else 0.0
        f = following
        if moved <= TOLERANCE:
            break
    scores = f.numpy()
    total = scores.sum(axis=1, keepdims=True)
    return np.divide(scores, total, out=np.zeros_like(scores), where=total > 0)
