"""The factory is chosen by size and device, and refuses what the device cannot hold."""

from __future__ import annotations

import pytest

from soundalike.index.spec import EXACT_LIMIT, choose_nlist, choose_spec
from soundalike.ingest.errors import ConfigError


def test_small_catalogues_are_exact_and_large_ones_approximate_per_device() -> None:
    assert choose_spec(EXACT_LIMIT, 200).factory == "IDMap2,Flat"
    assert choose_spec(EXACT_LIMIT + 1, 200).factory == "IDMap2,HNSW32,Flat"
    gpu = choose_spec(1_000_000, 200, device="cuda")
    assert gpu.factory == "IDMap2,IVF1024,Flat" and gpu.nlist == 1024
    assert choose_spec(100, 200, kind="ivf_pq").factory.endswith(",PQ50x8")


def test_nlist_leaves_enough_training_points_per_list() -> None:
    for count in (40, 1000, 60_000, 1_000_000):
        assert 1 <= choose_nlist(count) <= max(1, count // 39)


def test_unknown_kind_metric_or_gpu_hnsw_is_refused() -> None:
    with pytest.raises(ConfigError, match="kind"):
        choose_spec(10, 8, kind="lsh")
    with pytest.raises(ConfigError, match="metric"):
        choose_spec(10, 8, metric="hamming")
    with pytest.raises(ConfigError, match="GPU"):
        choose_spec(10, 8, device="cuda", kind="hnsw")
