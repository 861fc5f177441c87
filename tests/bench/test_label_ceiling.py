"""The label ceiling on vectors whose answer is known: packages apart are found, noise is not."""

from __future__ import annotations

from fractions import Fraction

import label_ceiling
import numpy as np
import pytest

PACKAGES, GROUPS, EXCERPTS, DIM = 4, 9, 3, 16


def excerpts(separation: float, seed: int = 0) -> label_ceiling.Excerpts:
    """Packages around their own centre (``separation`` apart), each track group a point near it with excerpts."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(PACKAGES, DIM)) * separation
    vectors, albums, groups = [], [], []
    for p in range(PACKAGES):
        for g in range(GROUPS):
            track = centres[p] + rng.normal(size=DIM)
            for _ in range(EXCERPTS):
                vectors.append(track + 0.1 * rng.normal(size=DIM))
                albums.append(f"p{p}")
                groups.append(f"p{p}/g{g}")
    return label_ceiling.Excerpts(np.array(vectors), np.array(albums, dtype=object), np.array(groups, dtype=object))


@pytest.mark.parametrize("share", label_ceiling.SHARES)
def test_each_fold_labels_the_share_of_every_package_and_keeps_groups_whole(share: Fraction) -> None:
    data = excerpts(3.0)
    unlabelled_count = np.zeros(len(data.albums), dtype=int)
    for labelled, unlabelled in label_ceiling.labelled_folds(data, share, seed=1):
        assert not set(data.groups[labelled]) & set(data.groups[unlabelled])
        for p in range(PACKAGES):
            mine = data.albums[labelled] == f"p{p}"
            assert len(set(data.groups[labelled][mine])) == pytest.approx(GROUPS * share, abs=1)
        unlabelled_count[unlabelled] += 1
    assert (unlabelled_count == share.denominator - share.numerator).all()


def test_separate_packages_reach_the_top_and_noise_stays_near_chance() -> None:
    apart = label_ceiling.ceiling(excerpts(6.0), Fraction(1, 3))
    noise = label_ceiling.ceiling(excerpts(0.0), Fraction(4, 5))
    assert apart["tagging"]["all"] > 0.95 and apart["p10"]["all"] > 0.9
    assert noise["tagging"]["all"] < 0.5 and noise["p10"]["all"] < 0.5
    spread = apart["tagging"]["packages"]
    assert isinstance(spread, dict) and spread["packages"] == PACKAGES


def test_a_share_that_folds_cannot_express_is_refused() -> None:
    with pytest.raises(ValueError, match="1/n or"):
        next(label_ceiling.labelled_folds(excerpts(1.0), Fraction(2, 5), seed=0))
