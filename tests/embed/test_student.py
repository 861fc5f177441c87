"""The distilled student: its shapes and cost, ``train distil`` end to end, and ingest with it as the runtime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from sqlalchemy.orm import Session, sessionmaker

from soundalike.embed import student
from soundalike.embed.distil import check_disjoint, loss_weights, relation_loss, track_grouped_order
from soundalike.embed.ingest_consumer import consumer_for
from soundalike.embed.musicnn import load_musicnn
from soundalike.embed.musicnn_encoder import MODEL_NAME as MUSICNN_NAME
from soundalike.embed.musicnn_encoder import MODEL_VERSION, POOLED_FEATURE
from soundalike.embed.musicnn_runtime import OnnxMusicnn
from soundalike.embed.store import load_embeddings
from soundalike.ingest.db.models import Feature
from soundalike.ingest.errors import ConfigError
from soundalike.ingest.pipeline import IngestOptions, ingest
from soundalike.ingest.settings import Settings

from support.audio_factory import beat, drone, write_audio
from support.cli_runner import run_cli


def test_student_gives_musicnn_shaped_outputs_for_a_batch_of_patches() -> None:
    out = student.Student().eval()(torch.randn(3, 187, 96))
    assert out.pooled.shape == (3, 1506)
    assert out.penultimate.shape == (3, 200)
    assert out.tags.shape == (3, 50)
    assert bool(((out.tags > 0) & (out.tags < 1)).all())


def test_student_costs_at_most_a_tenth_of_musicnns_multiply_adds() -> None:
    teacher, small = student.multiply_adds(load_musicnn()), student.multiply_adds(student.Student())
    assert 1.3e9 < teacher < 1.5e9
    assert small * 10 <= teacher


def test_student_back_end_is_musicnns_own() -> None:
    teacher = load_musicnn()
    model = student.Student()
    model.back.copy_from(teacher)
    pooled = torch.randn(4, 1506)
    with torch.inference_mode():
        penultimate, tags = model.back.eval()(pooled)
        expected = teacher.dense_bn(torch.relu(teacher.dense(teacher.pool_bn(pooled))))
    torch.testing.assert_close(penultimate, expected)
    assert not any(p.requires_grad for p in model.back.parameters())


def test_a_folder_may_not_be_trained_on_and_held_out(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="overlap"):
        check_disjoint([tmp_path / "a"], [tmp_path / "a" / "inner"])
    check_disjoint([tmp_path / "a"], [tmp_path / "b"])


@pytest.fixture
def packages(tmp_path: Path) -> dict[str, Path]:
    """Three folders of two 7-second FLAC tracks each, as packages of recordings."""
    folders = {}
    for k, name in enumerate(("train_a", "train_b", "held")):
        folder = tmp_path / "music" / name
        for i in range(2):
            make = drone if (i + k) % 2 == 0 else beat
            write_audio(folder / f"{name}_{i}.flac", make(10 * k + i, 7.0, 22050), 22050)
        folders[name] = folder
    return folders


def test_train_distil_writes_loadable_weights_and_reports_held_out_fidelity(
    settings: Settings, packages: dict[str, Path]
) -> None:
    report = run_cli(
        settings,
        "train",
        "distil",
        str(packages["train_a"]),
        str(packages["train_b"]),
        "--held-out",
        str(packages["held"]),
        "--epochs",
        "1",
        "--patches-per-track",
        "2",
        "--held-out-patches",
        "2",
        "--width",
        "4",
        "--relation-weight",
        "2",
        "--track-patches",
        "2",
    )
    out = settings.models_dir / student.WEIGHTS_FILE
    assert report["weights"] == str(out)
    model, version = student.load_student(out)
    assert version == report["version"] and version.startswith("student-w4-")
    assert model.width == 4
    assert report["train_tracks"] == 4 and report["held_out_tracks"] == 2
    assert report["train_patches"] == 8 and report["held_out_patches"] == 4
    assert report["student_macs"] * 10 <= report["teacher_macs"]
    assert -1.0 <= report["fidelity"]["penultimate_track_cosine"] <= 1.0
    assert (report["config"]["epochs"], report["config"]["relation_weight"]) == (1, 2.0)
    assert report["config"]["track_patches"] == 2
    assert (report["config"]["pooled_weight"], report["config"]["penultimate_weight"]) == (1.0, 0.5)
    assert student.weights_path(settings) == out
    again = run_cli(
        settings, "train", "distil", str(packages["train_a"]), "--held-out", str(packages["held"]), "--epochs", "1",
        "--patches-per-track", "2", "--held-out-patches", "2", "--width", "4",
    )  # fmt: skip
    assert again["train_tracks"] == 2


def test_the_fusion_blocks_set_the_loss_weights_of_the_network_outputs() -> None:
    assert loss_weights("musicnn:1,penultimate:0.5,mfcc:0.5") == {"pooled_weight": 1.0, "penultimate_weight": 0.5}
    assert loss_weights("musicnn:2:whiten64,chroma:1") == {"pooled_weight": 2.0, "penultimate_weight": 0.0}


def test_the_relation_loss_reads_only_how_patches_relate() -> None:
    """Rotating and rescaling the teacher's vectors keeps every cosine between patches: nothing to learn. Swapping
    which patches resemble each other changes them."""
    generator = torch.Generator().manual_seed(0)
    teacher = torch.randn(8, 16, generator=generator)
    rotation, _ = torch.linalg.qr(torch.randn(16, 16, generator=generator))
    scale = torch.rand(8, 1, generator=generator) + 0.5
    assert float(relation_loss(teacher @ rotation * scale, teacher)) < 1e-10
    assert float(relation_loss(teacher[torch.randperm(8, generator=generator)], teacher)) > 1e-2


def test_grouped_batches_hold_runs_of_one_tracks_patches_and_every_patch_once() -> None:
    sizes = [9, 4, 1, 6, 8]
    track = np.repeat(np.arange(len(sizes)), sizes)
    order = track_grouped_order(track, 4, np.random.default_rng(3))
    assert sorted(order.tolist()) == list(range(len(track)))
    neighbours_of_one_track = int(np.sum(track[order][1:] == track[order][:-1]))
    assert neighbours_of_one_track >= sum(n - -(-n // 4) for n in sizes)  # within each run of up to 4
    plain = track_grouped_order(track, 1, np.random.default_rng(3))
    assert plain.tolist() == np.random.default_rng(3).permutation(len(track)).tolist()
    assert int(np.sum(track[plain][1:] == track[plain][:-1])) < neighbours_of_one_track


def test_ingest_with_the_student_runtime_stores_vectors_of_the_students_version(
    settings: Settings, factory: sessionmaker[Session], session: Session, packages: dict[str, Path]
) -> None:
    model = student.Student(width=4)
    model.back.copy_from(load_musicnn())
    version = student.save_student(model.eval(), settings.models_dir / student.WEIGHTS_FILE, recipe="test")
    update = {"embedding_model": MUSICNN_NAME, "cnn_runtime": "student", "cache_dir": settings.home / "cache"}
    settings = settings.model_copy(update=update)
    consumer = consumer_for(settings, torch.device("cpu"))
    assert consumer is not None and consumer.encoder.version == f"{MODEL_VERSION}-{version}"
    ingest(
        factory,
        [packages["held"]],
        IngestOptions(settings=settings, device=torch.device("cpu"), workers=1, consumer=consumer),
    )
    ids, vectors, stored_version = load_embeddings(session, MUSICNN_NAME)
    assert len(ids) == 2 and stored_version == f"{MODEL_VERSION}-{version}"
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    pooled_versions = {f.version for f in session.query(Feature).filter(Feature.name == POOLED_FEATURE)}
    assert pooled_versions == {stored_version}


def test_shipped_student_loads_with_the_version_its_notice_names() -> None:
    model, version = student.load_student(student.SHIPPED_WEIGHTS)
    notice = (student.SHIPPED_WEIGHTS.parent / "NOTICE-musicnn-student.txt").read_text()
    assert version.startswith("student-w") and version in notice
    assert "ISC" in notice
    assert student.multiply_adds(model) * 9 <= 1.4e9


def test_engine_workers_build_the_student_when_it_is_the_runtime(tmp_path: Path) -> None:
    """An engine that encodes in its own workers (Ray) must run the same network the consumer stores under."""
    settings = Settings(home=tmp_path, cnn_runtime="student", cache_dir=tmp_path / "cache")
    consumer = consumer_for(settings, torch.device("cpu"))
    assert consumer is not None
    built = consumer.make_encoder(torch.device("cpu"))
    assert isinstance(built.model, OnnxMusicnn)
    assert (built.model_name, built.version) == (consumer.encoder.model_name, consumer.encoder.version)
