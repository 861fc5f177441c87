"""Unit-norm scaling, the one used by every stage."""

from __future__ import annotations

import numpy as np

from soundalike.embed.unit_norm import unit, unit_rows


def test_rows_get_unit_norm_and_zero_rows_stay_zero() -> None:
    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((5, 7)) * np.array([[1e-20], [3.0], [0.0], [1e6], [1.0]])
    rows = unit_rows(matrix)
    assert rows.dtype == np.float32
    norms = np.linalg.norm(rows, axis=1)
    np.testing.assert_allclose(norms[[0, 1, 3, 4]], 1.0, atol=1e-6)
    assert norms[2] == 0.0
    np.testing.assert_allclose(rows[1], matrix[1] / np.linalg.norm(matrix[1]), rtol=1e-6)


def test_one_vector_matches_its_row() -> None:
    vector = np.array([3.0, 4.0])
    np.testing.assert_allclose(unit(vector), [0.6, 0.8], rtol=1e-6)
    np.testing.assert_array_equal(unit(np.zeros(3)), np.zeros(3, dtype=np.float32))
    np.testing.assert_array_equal(unit(vector), unit_rows(vector[None, :])[0])
