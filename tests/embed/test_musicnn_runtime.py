"""MusiCNN through ONNX Runtime and torch.compile: the same outputs as eager torch, int8 under its own version.

The ONNX graphs are made once per module from the shipped weights; int8 is calibrated on the patches of the
``library`` fixture (the catalogue's role) and checked on the music-like reference patches it never saw (the
tests ship no recording; bench/bench_cpu_variants.py --music measures the same on real ones).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from sqlalchemy.orm import Session

from soundalike.embed import student
from soundalike.embed.models import FusionModel, MusicnnModel, check_cnn_runtime
from soundalike.embed.musicnn import MusiCNN, load_musicnn
from soundalike.embed.musicnn_encoder import MODEL_NAME, MODEL_VERSION
from soundalike.embed.musicnn_frontend import SAMPLE_RATE, musicnn_patches
from soundalike.embed.musicnn_runtime import (
    INT8_FILE,
    OnnxMusicnn,
    catalogue_patches,
    fp32_onnx,
    msd_encoder,
    msd_version,
    quantise,
)
from soundalike.embed.store import has_other_version, load_embeddings, put_embeddings
from soundalike.index.streamed_build import build_index
from soundalike.index.track_index import load_index, save_index
from soundalike.ingest.audio import load
from soundalike.ingest.db.models import Track
from soundalike.ingest.errors import ConfigError, IndexMismatchError, NotFoundError
from soundalike.ingest.paths import to_db_path
from soundalike.ingest.settings import Settings, load_settings

from support.cli_runner import cli_failure, run_cli

REFERENCE = Path(__file__).resolve().parent.parent / "data" / "musicnn_reference.npz"
CPU = torch.device("cpu")
FP32_ATOL = 1e-4
FP32_POOLED_RTOL = 1e-5
"""The pooled features reach about 100, so float rounding there is 1e-4 absolute (channels-last torch differs
from eager torch as much); relative to the value it stays under 1e-5."""
INT8_PENULTIMATE_ATOL = 1.0
"""Measured here 0.55 (the penultimate layer spans about +-2.5); 0.5-1.4 on patches of real recordings
(bench/RESULTS.md): int8 vectors are different vectors."""
INT8_TAGS_ATOL = 0.15
"""Measured here 0.08; 0.08-0.13 on real recordings, where the top tag changed on 1-2 patches in 16."""


def library_files(library: Path) -> list[Path]:
    return sorted(
        p for p in library.rglob("*") if p.suffix in {".wav", ".flac", ".ogg", ".mp3"} and p.name != "notes.mp3"
    )


def library_patches(library: Path) -> np.ndarray:
    return np.concatenate([musicnn_patches(y=load(p, sr=SAMPLE_RATE).samples) for p in library_files(library)])


def with_int8(settings: Settings, models_dir: Path) -> Settings:
    """``settings`` with a copy of the session's int8 graph in its models folder."""
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    (settings.models_dir / INT8_FILE).write_bytes((models_dir / INT8_FILE).read_bytes())
    return settings


@pytest.fixture(scope="module")
def reference_patches() -> torch.Tensor:
    with np.load(REFERENCE, allow_pickle=False) as data:
        return torch.from_numpy(data["input"])


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory, library: Path) -> Path:
    """A models folder with the fp32 graph and the int8 graph calibrated on the library's patches."""
    folder = tmp_path_factory.mktemp("models")
    quantise(fp32_onnx(folder), folder, library_patches(library))
    return folder


def test_onnx_fp32_gives_torchs_outputs_within_1e_4(
    models_dir: Path, library: Path, reference_patches: torch.Tensor
) -> None:
    x = torch.cat([reference_patches, torch.from_numpy(library_patches(library)[:5])])
    with torch.inference_mode():
        expected = load_musicnn()(x)
    got = OnnxMusicnn(fp32_onnx(models_dir))(x)
    for name in ("tags", "penultimate"):
        np.testing.assert_allclose(getattr(got, name).numpy(), getattr(expected, name).numpy(), rtol=0, atol=FP32_ATOL)
    np.testing.assert_allclose(got.pooled.numpy(), expected.pooled.numpy(), rtol=FP32_POOLED_RTOL, atol=FP32_ATOL)


def test_fp32_graph_is_exported_once_and_named_by_the_weights(models_dir: Path) -> None:
    path = fp32_onnx(models_dir)
    stamp = path.stat().st_mtime_ns
    assert fp32_onnx(models_dir) == path and path.stat().st_mtime_ns == stamp
    assert [p.name for p in models_dir.glob("musicnn-msd-*.onnx") if p.name != INT8_FILE] == [path.name]


def test_int8_stays_within_the_measured_tolerance_and_keeps_the_top_tag(
    models_dir: Path, reference_patches: torch.Tensor
) -> None:
    with torch.inference_mode():
        expected = load_musicnn()(reference_patches)
    got = OnnxMusicnn(models_dir / INT8_FILE)(reference_patches)
    assert float((got.penultimate - expected.penultimate).abs().max()) < INT8_PENULTIMATE_ATOL
    assert float((got.tags - expected.tags).abs().max()) < INT8_TAGS_ATOL
    assert not torch.equal(got.penultimate, expected.penultimate)
    for mine, theirs in zip(got.tags, expected.tags, strict=True):
        assert int(mine.argmax()) in theirs.topk(2).indices.tolist()
        assert int(theirs.argmax()) in mine.topk(2).indices.tolist()
        assert len(set(mine.topk(5).indices.tolist()) & set(theirs.topk(5).indices.tolist())) >= 4


def test_an_unknown_runtime_is_a_config_error_naming_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SOUNDALIKE_CNN_RUNTIME", "tensorrt")
    with pytest.raises(ConfigError, match="SOUNDALIKE_CNN_RUNTIME='tensorrt'.*onnx-int8"):
        load_settings(tmp_path)


def test_only_int8_and_a_patch_count_change_the_version(models_dir: Path, tmp_path: Path) -> None:
    cpu = {r: msd_version(Settings(home=tmp_path, cnn_runtime=r), CPU) for r in ("torch", "compile", "onnx")}
    assert set(cpu.values()) == {MODEL_VERSION}
    int8 = with_int8(Settings(home=tmp_path, cnn_runtime="onnx-int8"), models_dir)
    assert msd_version(int8, CPU).startswith(f"{MODEL_VERSION}-int8-")
    assert msd_version(int8, torch.device("cuda")) == MODEL_VERSION
    assert msd_version(Settings(home=tmp_path, cnn_runtime="onnx", musicnn_patches=4), CPU) == f"{MODEL_VERSION}-p4"


def test_the_student_runtime_runs_the_catalogues_student_on_onnx_under_its_version(
    tmp_path: Path, reference_patches: torch.Tensor
) -> None:
    settings = Settings(home=tmp_path / "home", cnn_runtime="student", cache_dir=tmp_path / "cache")
    shipped = student.weights_version(student.SHIPPED_WEIGHTS)
    assert msd_version(settings, CPU) == f"{MODEL_VERSION}-{shipped}"
    own = student.Student(width=4)
    own.back.copy_from(load_musicnn())
    version = student.save_student(own.eval(), settings.models_dir / student.WEIGHTS_FILE, recipe="test")
    encoder = msd_encoder(settings, CPU)
    assert isinstance(encoder.model, OnnxMusicnn)
    assert [p.name for p in (tmp_path / "cache").iterdir()][0].startswith("musicnn-student-")
    assert encoder.version == msd_version(settings, CPU) == f"{MODEL_VERSION}-{version}" != f"{MODEL_VERSION}-{shipped}"
    trained, _ = student.load_student(settings.models_dir / student.WEIGHTS_FILE)
    with torch.inference_mode():
        expected, got = trained(reference_patches), encoder.model(reference_patches)
    for name in ("penultimate", "pooled", "tags"):
        torch.testing.assert_close(getattr(got, name), getattr(expected, name), rtol=1e-4, atol=1e-4)
    assert msd_encoder(settings, torch.device("meta")).version == MODEL_VERSION


def test_a_catalogue_embedded_by_musicnn_is_refused_to_a_student_process(session: Session, settings: Settings) -> None:
    track = Track(path="/music/a.wav", size=1, mtime=0.0, status="ok")
    session.add(track)
    session.flush()
    put_embeddings(session, MODEL_NAME, MODEL_VERSION, np.array([track.id]), np.ones((1, 200), dtype=np.float32))
    with pytest.raises(IndexMismatchError, match=f"{MODEL_VERSION}.*-student-w.*index build"):
        check_cnn_runtime(session, settings.model_copy(update={"cnn_runtime": "student"}), CPU)


def test_int8_before_quantisation_says_how_to_make_it(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="train quantise"):
        msd_encoder(Settings(home=tmp_path, cnn_runtime="onnx-int8"), CPU)


def test_auto_runs_the_shipped_student_on_a_cpu_exported_once_into_the_cache(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", cache_dir=tmp_path / "cache")
    assert settings.cnn_runtime == "auto"
    encoder = msd_encoder(settings, CPU)
    shipped = student.weights_version(student.SHIPPED_WEIGHTS)
    assert isinstance(encoder.model, OnnxMusicnn) and encoder.version == f"{MODEL_VERSION}-{shipped}"
    assert [p.suffix for p in (tmp_path / "cache").iterdir()] == [".onnx"]
    assert not (tmp_path / "home" / "models").exists()
    assert isinstance(msd_encoder(settings, torch.device("meta")).model, MusiCNN)


def test_cuda_keeps_eager_torch_whatever_the_runtime(tmp_path: Path) -> None:
    encoder = msd_encoder(Settings(home=tmp_path, cnn_runtime="onnx"), torch.device("meta"))
    assert isinstance(encoder.model, torch.nn.Module) and not isinstance(encoder.model, OnnxMusicnn)
    assert encoder.version == MODEL_VERSION


def test_compile_runtime_compiles_the_torch_network(tmp_path: Path) -> None:
    encoder = msd_encoder(Settings(home=tmp_path, cnn_runtime="compile"), CPU)
    assert encoder.model._compiled_call_impl is not None
    assert encoder.version == MODEL_VERSION


def test_patch_count_setting_encodes_that_many_patches(tmp_path: Path, library: Path) -> None:
    y = np.tile(load(library_files(library)[0], sr=SAMPLE_RATE).samples, 4)
    settings = Settings(home=tmp_path, cnn_runtime="onnx", musicnn_patches=2)
    encoder = msd_encoder(settings, CPU)
    assert len(musicnn_patches(y=y)) > 2
    expected = encoder.encode_patches([musicnn_patches(y=y, limit=2)])[0]
    np.testing.assert_array_equal(encoder.encode_audio(y).embedding, expected.embedding)


def test_a_catalogue_embedded_with_torch_is_reembedded_with_int8_and_its_index_refused(
    session: Session, settings: Settings, library: Path, models_dir: Path
) -> None:
    with_int8(settings, models_dir)
    files = library_files(library)[:3]
    session.add_all([Track(path=to_db_path(p), size=p.stat().st_size, mtime=0.0, status="ok") for p in files])
    session.flush()
    MusicnnModel(settings.model_copy(update={"cnn_runtime": "torch"}), CPU).refresh(session)
    ids, torch_vectors, version = load_embeddings(session, MODEL_NAME)
    assert version == MODEL_VERSION
    save_index(build_index(ids, torch_vectors, model_name=MODEL_NAME, model_version=version), settings.index_dir)

    int8_settings = settings.model_copy(update={"cnn_runtime": "onnx-int8"})
    written, int8 = MusicnnModel(int8_settings, CPU).refresh(session)
    assert written == len(files) and int8 == msd_version(int8_settings, CPU) != MODEL_VERSION
    _, int8_vectors, stored = load_embeddings(session, MODEL_NAME)
    assert stored == int8 and not has_other_version(session, MODEL_NAME, int8)
    assert not np.allclose(int8_vectors, torch_vectors, atol=1e-4)
    with pytest.raises(IndexMismatchError, match="int8"):
        load_index(settings.index_dir, MODEL_NAME, model_version=stored)


def test_calibration_patches_come_from_decodable_catalogue_tracks(
    session: Session, settings: Settings, library: Path
) -> None:
    files = library_files(library)[:3]
    session.add_all([Track(path=to_db_path(p), size=1, mtime=0.0, status="ok") for p in files])
    session.add(Track(path=to_db_path(library / "beat" / "notes.mp3"), size=1, mtime=0.0, status="ok"))
    session.flush()
    found = catalogue_patches(session, settings, tracks=10, per_track=1)
    assert found.shape == (3, 187, 96)


@pytest.mark.parametrize(
    ("model", "runtime", "refused"),
    [
        ("musicnn-msd", "onnx", False),
        ("musicnn-msd", "compile", False),
        ("musicnn-msd", "onnx-int8", True),
        ("fusion", "onnx-int8", True),
        ("mfcc-stats", "onnx-int8", False),
    ],
)
def test_a_process_whose_runtime_makes_other_vectors_than_the_catalogue_is_refused(
    session: Session, settings: Settings, models_dir: Path, model: str, runtime: str, refused: bool
) -> None:
    track = Track(path="/music/a.wav", size=1, mtime=0.0, status="ok")
    session.add(track)
    session.flush()
    put_embeddings(session, MODEL_NAME, MODEL_VERSION, np.array([track.id]), np.ones((1, 200), dtype=np.float32))
    configured = with_int8(settings.model_copy(update={"embedding_model": model, "cnn_runtime": runtime}), models_dir)
    if refused:
        with pytest.raises(IndexMismatchError, match=f"{MODEL_VERSION}.*-int8-.*index build"):
            check_cnn_runtime(session, configured, CPU)
    else:
        check_cnn_runtime(session, configured, CPU)
    check_cnn_runtime(session, configured, torch.device("meta"))


def test_train_quantise_calibrates_on_the_catalogue_and_names_the_new_version(
    session: Session, settings: Settings, library: Path
) -> None:
    assert cli_failure(settings, "train", "quantise")["type"] == "PreconditionError"
    files = library_files(library)[:3]
    session.add_all([Track(path=to_db_path(p), size=1, mtime=0.0, status="ok") for p in files])
    session.commit()
    report = run_cli(settings, "train", "quantise", "--tracks", "3", "--per-track", "1")
    assert report["patches"] == 3
    assert Path(report["path"]) == settings.models_dir / INT8_FILE
    assert report["version"] == msd_version(settings.model_copy(update={"cnn_runtime": "onnx-int8"}), CPU)


def test_fusion_is_refitted_and_rewritten_when_its_musicnn_blocks_change_runtime(
    session: Session, settings: Settings, library: Path, models_dir: Path
) -> None:
    files = library_files(library)[:4]
    session.add_all([Track(path=to_db_path(p), size=1, mtime=0.0, status="ok") for p in files])
    session.flush()
    pooled_only = settings.model_copy(
        update={"embedding_model": "fusion", "fusion_blocks": "musicnn:1", "cnn_runtime": "torch"}
    )
    fused = with_int8(pooled_only, models_dir)
    written, torch_version = FusionModel(fused, CPU).refresh(session)
    assert written == len(files) and load_embeddings(session, MODEL_NAME)[2] == MODEL_VERSION

    int8 = fused.model_copy(update={"cnn_runtime": "onnx-int8"})
    written, int8_version = FusionModel(int8, CPU).refresh(session)
    assert written == len(files) and int8_version != torch_version
    assert load_embeddings(session, "fusion")[2] == int8_version
    assert load_embeddings(session, MODEL_NAME)[2] == msd_version(int8, CPU)
