"""Sharded search equal to unsharded."""

from __future__ import annotations

import numpy as np
import pytest

from soundalike.index.streamed_build import BuildOptions, build_index

from support.index_helpers import clustered


@pytest.mark.parametrize("kind", ["flat", "ivf_flat", "hnsw"])
def test_sharded_search_equals_unsharded(kind: str) -> None:
    rng = np.random.default_rng(2)
    vectors = clustered(rng, 2000, 24)
    ids = rng.choice(50_000, 2000, replace=False).astype(np.int64)
    queries = vectors[:40] + 0.02 * rng.standard_normal((40, 24)).astype(np.float32)
    whole = build_index(ids, vectors, model_name="m", model_version="1", options=BuildOptions(kind=kind))
    sharded = build_index(ids, vectors, model_name="m", model_version="1", options=BuildOptions(kind=kind, shards=3))
    assert sharded.meta.shards == 3 and sharded.index.ntotal == 2000
    if kind != "hnsw":  # exact and IVF: same lists probed, so identical results
        exact = {"nlist": whole.meta.nlist, "nprobe": whole.meta.nlist} if kind == "ivf_flat" else {}
        whole.meta.params.update(exact)
        sharded.meta.params.update(exact)
    a_ids, a_scores = whole.search(queries, 10)
    b_ids, b_scores = sharded.search(queries, 10)
    overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(a_ids, b_ids, strict=True)])
    if kind == "hnsw":  # two different graphs: both approximate the same exact lists
        assert overlap >= 0.9
    else:
        np.testing.assert_allclose(a_scores, b_scores, atol=1e-5)
        assert overlap >= 0.999
