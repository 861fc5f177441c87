"""Open-set genre calls: "none of these" when a track lies far from every genre the curator chose, and the
confidence a call needs before it may stand in for a genre the curator rejected.

Both thresholds are fitted on held-out rows the head's settings were not chosen on. Distances are cosine
distances on unit rows to each genre's mean direction, ``1 - max_c cos(x, mu_c)``; a track farther than
``DISTANCE_MARGIN`` times the ``DISTANCE_QUANTILE`` of the held-out tracks' distances is none of these (the
margin allows for held-out rows being measured to directions of fewer tracks), whatever the softmax says (a
linear head grows more certain the farther a row lies from the data). The confidence threshold is the lowest calibrated
probability at which held-out calls were right at least ``TARGET_PRECISION`` of the time.
"""

from __future__ import annotations

import numpy as np

from soundalike.embed.calibration import MIN_CALIBRATION
from soundalike.embed.unit_norm import unit_rows

DISTANCE_QUANTILE = 0.95
DISTANCE_MARGIN = 2.0
TARGET_PRECISION = 0.9
MIN_SUPPORT = 5
"""Fewest held-out calls at or above a confidence threshold for its precision to count."""
DEFAULT_MIN_CONFIDENCE = 0.5
"""The confidence threshold when too few rows were held out to fit one."""


def class_directions(x: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    """(classes, d) unit mean direction of each class's unit rows (zeros for a class without rows)."""
    rows = unit_rows(np.asarray(x, np.float64))
    means = np.stack(
        [rows[y == c].mean(axis=0) if (y == c).any() else np.zeros(rows.shape[1]) for c in range(n_classes)]
    )
    return unit_rows(means)


def genre_distance(x: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """Cosine distance of each row to the nearest class direction (0 on it, 1 orthogonal to every class)."""
    return 1.0 - (unit_rows(np.atleast_2d(np.asarray(x, np.float64))) @ directions.T).max(axis=1)


def fit_max_distance(distances: np.ndarray) -> float | None:
    """``DISTANCE_MARGIN`` x the ``DISTANCE_QUANTILE`` of held-out in-genre distances; None (no limit) below
    ``MIN_CALIBRATION`` held-out rows, too few to place a tail."""
    if len(distances) < MIN_CALIBRATION:
        return None
    return DISTANCE_MARGIN * float(np.quantile(distances, DISTANCE_QUANTILE))


def fit_min_confidence(confidence: np.ndarray, correct: np.ndarray) -> float:
    """Lowest confidence whose held-out calls at or above it were right ``TARGET_PRECISION`` of the time.

    Calls are scanned from the most confident down; with fewer than ``MIN_SUPPORT`` calls it is
    ``DEFAULT_MIN_CONFIDENCE``, and when no threshold reaches the target it is 1 (no call is confident).
    """
    if len(confidence) < MIN_SUPPORT:
        return DEFAULT_MIN_CONFIDENCE
    order = np.argsort(-confidence, kind="stable")
    precision = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    good = np.flatnonzero((precision >= TARGET_PRECISION) & (np.arange(1, len(order) + 1) >= MIN_SUPPORT))
    return float(confidence[order][good[-1]]) if len(good) else 1.0
