"""Temperature scaling of a classifier's logits, and calibrated probabilities that no fitted temperature saw.

A temperature ``T`` divides the logits before the softmax; it is fitted by minimising the negative
log-likelihood of held-out rows. Reported calibration must not be measured on the rows ``T`` was fitted on:
``cross_fitted`` splits those rows in two folds (whole groups) and calibrates each fold with the temperature
fitted on the other.
"""

from __future__ import annotations

import numpy as np

MIN_CALIBRATION = 10
"""Fewest held-out rows a temperature is fitted on."""


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax in float64."""
    z = np.asarray(logits, np.float64)
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """Temperature minimising the negative log-likelihood of held-out logits (grid search, 0.25 to 100).

    Below ``MIN_CALIBRATION`` rows it is 1: a few held-out calls, all right, would sharpen without limit.
    """
    if len(y) < MIN_CALIBRATION:
        return 1.0
    grid = np.exp(np.linspace(np.log(0.25), np.log(100.0), 120))
    losses = [-log_softmax(logits / t)[np.arange(len(y)), y].mean() for t in grid]
    return float(grid[int(np.argmin(losses))])


def cross_fitted(logits: np.ndarray, y: np.ndarray, fold: np.ndarray) -> np.ndarray:
    """Probabilities of every row, each fold scaled by the temperature fitted on the other fold (``fold``: mask)."""
    probs = np.empty(np.shape(logits), dtype=np.float64)
    for side in (fold, ~fold):
        temperature = fit_temperature(logits[~side], y[~side])
        probs[side] = np.exp(log_softmax(logits[side] / temperature))
    return probs
