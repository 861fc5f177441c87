from __future__ import annotations

import json
from pathlib import Path

import faiss
import numpy as np
import pytest

from soundalike.index.atomic import atomic_write
from soundalike.index.track_index import build_index, index_paths, load_index, save_index
from soundalike.ingest.errors import IndexMismatchError, NotFoundError


def unit_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("dim", [8, 120, 200])
@pytest.mark.parametrize("n", [50, 2000])
def test_search_matches_exact_inner_product(dim: int, n: int) -> None:
    rng = np.random.default_rng(dim * n)
    vectors = unit_rows(rng, n, dim)
    ids = rng.choice(10 * n, size=n, replace=False).astype(np.int64)
    index = build_index(ids, vectors, model_name="m", model_version="1")
    queries = unit_rows(rng, 20, dim)
    found, scores = index.search(queries, 10)
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    recall = np.mean([len(set(found[q]) & set(ids[exact[q]])) / 10 for q in range(20)])
    assert recall >= 0.99  # Flat below EXACT_LIMIT: exact up to float ties
    np.testing.assert_allclose(scores[:, 0], (queries @ vectors.T).max(axis=1), rtol=1e-5)
    assert np.all(np.diff(scores, axis=1) <= 1e-6)


def test_save_load_round_trip_keeps_ids_and_sidecar(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    vectors = unit_rows(rng, 30, 16)
    ids = np.arange(100, 130, dtype=np.int64)
    save_index(build_index(ids, vectors, model_name="m", model_version="v1"), tmp_path)
    loaded = load_index(tmp_path, "m", model_version="v1")
    found, scores = loaded.search(vectors[5], 1)
    assert found[0, 0] == 105 and scores[0, 0] == pytest.approx(1.0, abs=1e-5)
    sidecar = json.loads(index_paths(tmp_path, "m")[1].read_text())
    assert sidecar["dim"] == 16 and sidecar["count"] == 30 and sidecar["factory"] == "IDMap2,Flat"


def test_load_refuses_a_model_version_or_shape_mismatch(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    save_index(build_index(np.arange(10), unit_rows(rng, 10, 8), model_name="m", model_version="v1"), tmp_path)
    with pytest.raises(IndexMismatchError, match="v1"):
        load_index(tmp_path, "m", model_version="v2")
    sidecar = index_paths(tmp_path, "m")[1]
    meta = json.loads(sidecar.read_text())
    sidecar.write_text(json.dumps({**meta, "count": 11}))
    with pytest.raises(IndexMismatchError, match="count"):
        load_index(tmp_path, "m")
    with pytest.raises(NotFoundError):
        load_index(tmp_path, "other")


def test_query_of_wrong_dimension_is_refused() -> None:
    index = build_index(np.arange(5), unit_rows(np.random.default_rng(2), 5, 8), model_name="m", model_version="1")
    with pytest.raises(IndexMismatchError):
        index.search(np.zeros(9, dtype=np.float32), 3)


def test_failed_write_leaves_the_previous_file_intact(tmp_path: Path) -> None:
    target = tmp_path / "x.faiss"
    target.write_text("old")

    def broken(tmp: Path) -> None:
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, broken)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.faiss"]


def test_index_file_is_a_faiss_idmap(tmp_path: Path) -> None:
    save_index(
        build_index(np.array([7, 9]), unit_rows(np.random.default_rng(3), 2, 4), model_name="m", model_version="1"),
        tmp_path,
    )
    raw = faiss.read_index(str(index_paths(tmp_path, "m")[0]))
    assert sorted(faiss.vector_to_array(faiss.downcast_index(raw).id_map).tolist()) == [7, 9]
