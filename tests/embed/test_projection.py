"""Two-dimensional projections of embeddings, as the evaluation plot and the web map draw them."""

from __future__ import annotations

import numpy as np

from soundalike.embed.projection import pca_2d


def test_the_first_axis_follows_the_widest_spread_and_the_second_the_next() -> None:
    rng = np.random.default_rng(3)
    along = rng.standard_normal(200)
    across = rng.standard_normal(200)
    direction, other = np.eye(6)[2], np.eye(6)[4]
    vectors = 10.0 * along[:, None] * direction + across[:, None] * other + 0.01 * rng.standard_normal((200, 6))
    coords = pca_2d(vectors + 5.0)
    assert coords.shape == (200, 2)
    assert abs(np.corrcoef(coords[:, 0], along)[0, 1]) > 0.999
    assert abs(np.corrcoef(coords[:, 1], across)[0, 1]) > 0.99
    np.testing.assert_allclose(coords.mean(axis=0), 0.0, atol=1e-9)


def test_fewer_rows_or_dimensions_than_two_axes_are_zero_padded() -> None:
    assert pca_2d(np.zeros((0, 8))).shape == (0, 2)
    np.testing.assert_array_equal(pca_2d(np.ones((1, 8))), [[0.0, 0.0]])
    line = pca_2d(np.array([[1.0], [2.0], [4.0]]))
    np.testing.assert_allclose(np.abs(line[:, 0]), [4 / 3, 1 / 3, 5 / 3])
    np.testing.assert_array_equal(line[:, 1], 0.0)
