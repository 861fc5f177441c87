"""The style projection learnt from weak labels is kept only when held-out albums gain without losing identity."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from soundalike.cli import app
from soundalike.embed.adapt import AdaptRecord, decide
from soundalike.embed.checkpoint import load_checkpoint, save_checkpoint
from soundalike.embed.fusion import MODEL_NAME as FUSION
from soundalike.embed.models import ProjectedFusionModel
from soundalike.embed.store import load_embeddings
from soundalike.embed.style_projection import (
    CHECKPOINT_FILE,
    ProjectConfig,
    StyleMap,
    apply,
    catalogue_labels,
    choose_labels,
    fit_style_map,
    load_projection,
)
from soundalike.ingest.db.models import Track
from soundalike.ingest.errors import ConfigError, NotFoundError
from soundalike.ingest.repository import set_track_genre
from soundalike.ingest.settings import Settings

from support.audio_factory import beat, drone, write_audio

BLOCKS = "mfcc:1,chroma:0.5,rhythm:0.2"
Halves = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def weak_catalogue(structured: bool, seed: int) -> tuple[np.ndarray, list[str], Halves]:
    """20 albums of 6 tracks in 24 dims: an album centre in 8 (or noise there), identity in 16; two halves each."""
    rng = np.random.default_rng(seed)
    vectors, labels = [], []
    for album in range(20):
        centre = rng.standard_normal(8)
        for _ in range(6):
            style = centre if structured else rng.standard_normal(8)
            vectors.append(np.concatenate([0.5 * style, rng.standard_normal(16)]))
            labels.append(f"album {album}")
    matrix = np.asarray(vectors, dtype=np.float32)
    halves = matrix[:, None, :] + 0.05 * rng.standard_normal((len(matrix), 2, 24)).astype(np.float32)

    def halves_of(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return halves[rows].reshape(-1, 24), np.repeat(rows, 2)

    return matrix, labels, halves_of


CONFIG = ProjectConfig(rank=8, steps=200)


@pytest.mark.parametrize("seed", [0, 1])
def test_projection_is_kept_where_album_style_is_learnable(seed: int) -> None:
    vectors, labels, halves_of = weak_catalogue(structured=True, seed=seed)
    _, record = fit_style_map(vectors, labels, labels, halves_of, CONFIG, kind="album", base="1-x")
    assert record.kept, record.reason
    assert record.adapted["album_precision@10"] > record.baseline["album_precision@10"] + 0.1  # type: ignore[operator]
    assert record.adapted["recall@1"] >= record.baseline["recall@1"] - 0.02  # type: ignore[operator]


@pytest.mark.parametrize("seed", [0, 1])
def test_projection_of_pure_noise_is_refused_with_a_reason(seed: int) -> None:
    vectors, labels, halves_of = weak_catalogue(structured=False, seed=seed)
    _, record = fit_style_map(vectors, labels, labels, halves_of, CONFIG, kind="album", base="1-x")
    assert not record.kept
    assert "same-album precision did not improve by more than" in record.reason


def test_held_out_albums_are_never_on_both_sides() -> None:
    vectors, labels, halves_of = weak_catalogue(structured=True, seed=0)
    seen: list[np.ndarray] = []

    def recording(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        seen.append(rows)
        return halves_of(rows)

    _, record = fit_style_map(vectors, labels, labels, recording, ProjectConfig(steps=5), kind="album", base="1-x")
    held_out = {labels[n] for n in seen[0]}
    trained = {labels[n] for n in range(len(labels)) if n not in set(seen[0].tolist())}
    assert held_out and trained and not held_out & trained
    assert record.n_held_out == len(seen[0]) and record.n_train + record.n_held_out == len(labels)


def test_decide_for_a_projection_aims_at_precision_and_guards_identity() -> None:
    base = {"album_precision@10": 0.3, "recall@1": 0.9}
    rule = {"tolerance": 0.02, "min_gain": 0.05, "goal": "album_precision@10", "guard": "recall@1"}
    assert decide(base, {"album_precision@10": 0.4, "recall@1": 0.89}, **rule)[0]  # type: ignore[arg-type]
    assert not decide(base, {"album_precision@10": 0.34, "recall@1": 0.95}, **rule)[0]  # type: ignore[arg-type]
    kept, reason = decide(base, {"album_precision@10": 0.6, "recall@1": 0.8}, **rule)  # type: ignore[arg-type]
    assert not kept and "excerpt recall@1 fell" in reason


def add_tracks(session: Session, folder: Path, count: int = 12) -> list[int]:
    """``count`` 9.5 s tracks, drone and beat alternating, albums of four and artists of six."""
    ids = []
    for i in range(count):
        style, make = (("drone", drone), ("beat", beat))[i % 2]
        path = write_audio(folder / f"{style}_{i}.wav", make(300 + i, 9.5, 16000), 16000)
        track = Track(path=str(path), size=1, mtime=0.0, album=f"{style} {i // 4}", artist=f"a{i // 6}", status="ok")
        session.add(track)
        session.flush()
        ids.append(track.id)
    session.commit()
    return ids


def test_weak_labels_come_from_tags_the_folder_and_a_curator(session: Session, tmp_path: Path) -> None:
    ids = add_tracks(session, tmp_path / "music", count=4)
    untagged = session.get(Track, ids[3])
    assert untagged is not None
    untagged.album = None
    set_track_genre(session, ids[0], "ambient", source="tag")
    session.commit()
    weak = catalogue_labels(session, np.array(ids))
    assert weak.album[:3] == ["album:drone 0", "album:beat 0", "album:drone 0"]
    assert weak.album[3] == f"folder:{tmp_path / 'music'}"
    assert weak.genre[0] == "ambient" and not weak.curated[0]
    assert choose_labels(weak, "auto")[0] == "album"
    for n, genre in enumerate(("ambient", "ambient", "techno", "techno")):
        set_track_genre(session, ids[n], genre, source="label")
    session.commit()
    weak = catalogue_labels(session, np.array(ids))
    kind, labels, groups = choose_labels(weak, "auto")
    assert kind == "genre" and labels == ["ambient", "ambient", "techno", "techno"] and groups == weak.album
    kind, labels, groups = choose_labels(weak, "artist")
    assert kind == "artist" and labels == groups == ["a0"] * 4


def project(settings: Settings, *args: str) -> CliRunner:
    return CliRunner().invoke(
        app,
        ["--home", str(settings.home), "train", "project", *args],
        env={"SOUNDALIKE_DATABASE_URL": settings.db_url, "SOUNDALIKE_FUSION_BLOCKS": BLOCKS},
    )


@pytest.mark.slow
def test_train_project_records_its_decision_as_json_and_a_table(
    settings: Settings, session: Session, tmp_path: Path
) -> None:
    add_tracks(session, tmp_path / "music")
    result = project(settings, "--labels", "album", "--steps", "30", "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    weights, saved = load_checkpoint(settings.models_dir / CHECKPOINT_FILE, what="style projection", command="")
    assert saved == record and record["config"]["labels"] == "album"
    assert record["base"] == load_embeddings(session, FUSION)[2]
    assert bool(weights) == record["kept"] and record["n_train"] + record["n_held_out"] == 12
    assert set(record["baseline"]) == {"album_precision@10", "recall@1"}
    table = project(settings, "--labels", "album", "--steps", "30")
    assert table.exit_code == 0, table.output
    shown = " ".join(table.stdout.split())
    assert f"Style projection {record['version']}" in shown and ("kept" if record["kept"] else "discarded") in shown
    assert "│ fusion" in shown and "│ projected" in shown and record["reason"] in " ".join(table.output.split())


def kept_record(base: str) -> AdaptRecord:
    return AdaptRecord(
        "project-0000abcd",
        True,
        "same-album precision 0.300 -> 0.500",
        {"album_precision@10": 0.3, "recall@1": 1.0},
        {"album_precision@10": 0.5, "recall@1": 1.0},
        8,
        4,
        asdict(ProjectConfig(labels="album")),
        base,
    )


def test_a_kept_projection_serves_its_own_version_and_refuses_another_fusion(
    settings: Settings, session: Session, tmp_path: Path
) -> None:
    ids = add_tracks(session, tmp_path / "music", count=6)
    projected_settings = settings.model_copy(update={"embedding_model": "fusion-projected", "fusion_blocks": BLOCKS})
    model = ProjectedFusionModel(projected_settings, torch.device("cpu"))
    with pytest.raises(NotFoundError, match="train project"):
        model.refresh(session)
    _, fused, base = load_embeddings(session, FUSION)
    assert base is not None
    torch.manual_seed(0)
    style_map = StyleMap(fused.shape[1], 4)
    torch.nn.init.normal_(style_map.up)
    state = {k: v.detach().contiguous() for k, v in style_map.state_dict().items()}
    save_checkpoint(settings.models_dir / CHECKPOINT_FILE, state, asdict(kept_record("another-fusion")))
    with pytest.raises(ConfigError, match="another-fusion"):
        model.refresh(session)
    save_checkpoint(settings.models_dir / CHECKPOINT_FILE, state, asdict(kept_record(base)))
    count, version = model.refresh(session)
    assert count == len(ids) and version == "project-0000abcd-kept" and version != base
    stored_ids, vectors, stored_version = load_embeddings(session, "fusion-projected")
    assert stored_version == version and sorted(stored_ids.tolist()) == ids
    np.testing.assert_allclose(vectors, apply(style_map)(fused), atol=1e-5)
    assert not np.allclose(vectors, fused, atol=1e-3)
    query = model.embed_file(tmp_path / "music" / "drone_0.wav")
    assert float(query @ vectors[0]) > 0.999
    assert load_projection(settings.models_dir, base)[0].version == "project-0000abcd"
