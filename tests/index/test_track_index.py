from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import faiss
import numpy as np
import pytest

from soundalike.embed.unit_norm import unit_rows
from soundalike.index.backends import StaleSet, post_filter
from soundalike.index.sorted_ids import ABSENT, positions
from soundalike.index.streamed_build import BuildOptions, build_index
from soundalike.index.track_index import load_index, save_index, sidecar_path
from soundalike.ingest.errors import IndexMismatchError, NotFoundError

from support.index_helpers import clustered


def random_units(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    return unit_rows(rng.standard_normal((n, dim)))


def test_save_load_round_trip_keeps_ids_sidecar_and_tuned_params(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    vectors = clustered(rng, 2000, 16)
    ids = np.arange(100, 2100, dtype=np.int64)
    built = build_index(ids, vectors, model_name="m", model_version="v1", options=BuildOptions(kind="hnsw"))
    save_index(built, tmp_path)
    loaded = load_index(tmp_path, "m", model_version="v1")
    found, scores = loaded.search(vectors[5], 1)
    assert found[0, 0] == 105 and scores[0, 0] == pytest.approx(1.0, abs=1e-5)
    sidecar = json.loads(sidecar_path(tmp_path, "m").read_text())
    assert sidecar["dim"] == 16 and sidecar["count"] == 2000 and sidecar["factory"] == "IDMap2,HNSW32,Flat"
    assert sidecar["metric"] == "cosine" and sidecar["params"]["efSearch"] == built.meta.params["efSearch"]
    assert {"model_name", "model_version", "fingerprint", "created_at"} <= set(sidecar)
    raw = faiss.read_index(str(tmp_path / sidecar["files"][0]))
    assert sorted(faiss.vector_to_array(faiss.downcast_index(raw).id_map).tolist()) == ids.tolist()


def test_load_refuses_a_model_version_shape_or_format_mismatch(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    save_index(build_index(np.arange(10), random_units(rng, 10, 8), model_name="m", model_version="v1"), tmp_path)
    with pytest.raises(IndexMismatchError, match="v1"):
        load_index(tmp_path, "m", model_version="v2")
    sidecar = sidecar_path(tmp_path, "m")
    meta = json.loads(sidecar.read_text())
    for field, value, message in [("count", 11, "count"), ("dim", 9, "dim"), ("format_version", 1, "format")]:
        sidecar.write_text(json.dumps({**meta, field: value}))
        with pytest.raises(IndexMismatchError, match=message):
            load_index(tmp_path, "m")
    sidecar.write_text(json.dumps({**meta, "model_name": "other"}))
    with pytest.raises(IndexMismatchError, match="other"):
        load_index(tmp_path, "m")
    with pytest.raises(NotFoundError):
        load_index(tmp_path, "absent")


def test_query_of_wrong_dimension_is_refused() -> None:
    index = build_index(np.arange(5), random_units(np.random.default_rng(2), 5, 8), model_name="m", model_version="1")
    with pytest.raises(IndexMismatchError):
        index.search(np.zeros(9, dtype=np.float32), 3)


def test_a_new_generation_replaces_the_old_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    first = build_index(np.arange(10), random_units(rng, 10, 8), model_name="m", model_version="1")
    save_index(first, tmp_path)
    old_files = set(first.meta.files)
    second = build_index(np.arange(20), random_units(rng, 20, 8), model_name="m", model_version="1")
    save_index(second, tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {*second.meta.files, "m.json"}
    assert not old_files & set(second.meta.files)
    assert load_index(tmp_path, "m").meta.count == 20


SAVE_LOOP = """
import sys
import numpy as np
from pathlib import Path
from soundalike.index.streamed_build import BuildOptions, build_index
from soundalike.index.track_index import save_index
rng = np.random.default_rng(0)
small = build_index(np.arange(1000), rng.standard_normal((1000, 64)).astype("f4"), model_name="m", model_version="1")
big = build_index(np.arange(60000), rng.standard_normal((60000, 64)).astype("f4"), model_name="m", model_version="1",
                  options=BuildOptions(kind="flat"))
save_index(small, Path(sys.argv[1]))
print("saved", flush=True)
while True:
    save_index(big, Path(sys.argv[1]))
    save_index(small, Path(sys.argv[1]))
"""


@pytest.mark.slow
def test_sigkill_during_save_leaves_a_loadable_index(tmp_path: Path) -> None:
    for attempt in range(3):
        folder = tmp_path / str(attempt)
        child = subprocess.Popen([sys.executable, "-c", SAVE_LOOP, str(folder)], stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None and child.stdout.readline().strip() == "saved"
        deadline = time.monotonic() + 30
        while not any(p.name.endswith(".tmp") for p in folder.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.001)
        time.sleep(0.01 * attempt)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        loaded = load_index(folder, "m")
        assert loaded.meta.count in (1000, 60000)
        found, _ = loaded.search(np.ones(64, dtype=np.float32), 3)
        assert (found >= 0).all()


def test_stale_ids_are_never_returned_through_selector_or_post_filter() -> None:
    rng = np.random.default_rng(4)
    vectors = clustered(rng, 500, 12)
    ids = np.arange(500, dtype=np.int64) * 3
    index = build_index(ids, vectors, model_name="m", model_version="1")
    before, _ = index.search(vectors[:20], 5)
    stale = StaleSet(before[:, :2].ravel())
    index.stale = stale
    after, _ = index.search(vectors[:20], 5)
    assert not np.isin(after, stale.ids).any() and (after >= 0).all()
    scores, fetched = index.index.search(vectors[:20], 5 + len(stale))
    filtered, filtered_scores = post_filter(fetched, scores, stale, 5, fill=-np.inf)
    np.testing.assert_array_equal(filtered, after)
    assert np.all(np.diff(filtered_scores, axis=1) <= 1e-6)


def test_index_meta_replace_keeps_the_spec() -> None:
    index = build_index(np.arange(5), random_units(np.random.default_rng(6), 5, 8), model_name="m", model_version="1")
    assert replace(index.meta, count=9).spec == index.meta.spec


@pytest.mark.parametrize("shards", [1, 2])
@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf_flat"])
def test_vectors_read_back_from_a_saved_index_equal_the_unit_vectors_indexed(
    tmp_path: Path, kind: str, shards: int
) -> None:
    rng = np.random.default_rng(3)
    raw = clustered(rng, 1500, 16) * rng.uniform(0.5, 3.0, (1500, 1)).astype(np.float32)
    ids = np.arange(1, 1501, dtype=np.int64) * 3
    options = BuildOptions(kind=kind, shards=shards)
    save_index(build_index(ids, raw, model_name="m", model_version="v1", options=options), tmp_path)
    loaded = load_index(tmp_path, "m")
    stale_id = int(ids[10])
    loaded.stale = StaleSet([stale_id])
    asked = [int(ids[0]), int(ids[777]), int(ids[1499]), stale_id, 2, 999_999]
    found = loaded.vectors(asked)
    assert sorted(found) == sorted([int(ids[0]), int(ids[777]), int(ids[1499])])
    for row in (0, 777, 1499):
        want = raw[row] / np.linalg.norm(raw[row])
        np.testing.assert_allclose(found[int(ids[row])], want, atol=1e-6)


def test_a_quantised_index_gives_no_vectors_so_callers_read_the_database(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    ids = np.arange(1, 3001, dtype=np.int64)
    built = build_index(
        ids, clustered(rng, 3000, 16), model_name="m", model_version="v1", options=BuildOptions(kind="ivf_sq8")
    )
    assert built.vectors([1, 2, 3]) == {}


def test_positions_finds_each_id_by_binary_search_and_marks_absent_ones() -> None:
    sorted_ids = np.array([3, 8, 20, 41], dtype=np.int64)
    assert positions(sorted_ids, np.array([41, 2, 8, 50, 3, 9])).tolist() == [3, ABSENT, 1, ABSENT, 0, ABSENT]
    assert positions(np.zeros(0, np.int64), np.array([1, 2])).tolist() == [ABSENT, ABSENT]
    assert positions(sorted_ids, np.zeros(0, np.int64)).tolist() == []
