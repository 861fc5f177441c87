"""The contrastive adaptation is kept only when held-out tracks retrieve their own excerpts better."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from soundalike.cli import app
from soundalike.embed.adapt import (
    CHECKPOINT_FILE,
    AdaptConfig,
    AdaptRecord,
    adapt,
    decide,
    load_adapted,
    projection,
    save_adaptation,
)
from soundalike.embed.checkpoint import load_checkpoint
from soundalike.embed.models import AdaptedMusicnnModel
from soundalike.embed.store import load_embeddings
from soundalike.ingest.db.models import Track
from soundalike.ingest.errors import ConfigError, NotFoundError
from soundalike.ingest.settings import Settings

from support.audio_factory import beat, drone, write_audio


def test_decide_keeps_only_a_head_that_retrieves_better_without_losing_albums() -> None:
    base = {"recall@1": 0.5, "album_precision@10": 0.6}
    assert decide(base, {"recall@1": 0.7, "album_precision@10": 0.59}, tolerance=0.02)[0]
    assert not decide(base, {"recall@1": 0.5, "album_precision@10": 0.9}, tolerance=0.02)[0]
    kept, reason = decide(base, {"recall@1": 0.9, "album_precision@10": 0.4}, tolerance=0.02)
    assert not kept and "album" in reason
    assert not decide({"album_precision@10": 0.6}, {"album_precision@10": 0.6}, tolerance=0.02)[0]


def synthetic_catalogue(noise: float, seed: int = 0) -> tuple[list[np.ndarray], list[str]]:
    """40 tracks of 6 patches: album centre + track identity in 8 dims, patch noise in 24 loud dims."""
    rng = np.random.default_rng(seed)
    per_track, groups = [], []
    for album in range(10):
        centre = np.concatenate([rng.standard_normal(8), np.zeros(24)])
        for _ in range(4):
            identity = np.concatenate([0.6 * rng.standard_normal(8), np.zeros(24)])
            patches = centre + identity + noise * np.concatenate([np.zeros((6, 8)), rng.standard_normal((6, 24))], 1)
            per_track.append(patches.astype(np.float32))
            groups.append(f"album:{album}")
    return per_track, groups


@pytest.mark.slow
def test_head_that_learns_to_ignore_patch_noise_is_kept() -> None:
    per_track, groups = synthetic_catalogue(noise=3.0)
    _, record = adapt(per_track, groups, AdaptConfig(out_dim=16, steps=150, test_fraction=0.4))
    assert record.adapted["recall@1"] > record.baseline["recall@1"]  # type: ignore[operator]
    assert record.kept, record.reason
    assert record.n_train + record.n_held_out == 40


def test_head_is_discarded_when_the_backbone_is_already_perfect() -> None:
    per_track, groups = synthetic_catalogue(noise=0.0)
    _, record = adapt(per_track, groups, AdaptConfig(out_dim=16, steps=20, test_fraction=0.4))
    assert record.baseline["recall@1"] == 1.0
    assert not record.kept and "did not improve" in record.reason


@pytest.mark.slow
def test_train_adapt_records_its_decision_on_a_small_catalogue(
    settings: Settings, session: Session, tmp_path: Path
) -> None:
    for i in range(12):
        style, make = (("drone", drone), ("beat", beat))[i % 2]
        path = write_audio(tmp_path / "music" / f"{style}_{i}.wav", make(300 + i, 9.5, 16000), 16000)
        session.add(Track(path=str(path), size=1, mtime=0.0, album=f"{style} {i // 4}", status="ok"))
    session.commit()
    result = CliRunner().invoke(
        app,
        ["--home", str(settings.home), "train", "adapt", "--steps", "30", "--json"],
        env={"SOUNDALIKE_DATABASE_URL": settings.db_url},
    )
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    weights, saved = load_checkpoint(settings.models_dir / CHECKPOINT_FILE, what="adapted MusiCNN", command="")
    assert saved == record
    assert record["kept"] == decide(record["baseline"], record["adapted"], tolerance=0.02)[0]
    assert bool(weights) == record["kept"]
    assert record["n_train"] + record["n_held_out"] == 12


def adapted_record(kept: bool) -> AdaptRecord:
    return AdaptRecord(
        version="adapt-0000abcd",
        kept=kept,
        reason="excerpt recall@1 0.500 -> 0.700" if kept else "excerpt recall@1 did not improve (0.700 -> 0.500)",
        baseline={"recall@1": 0.5 if kept else 0.7},
        adapted={"recall@1": 0.7 if kept else 0.5},
        n_train=8,
        n_held_out=4,
        config=asdict(AdaptConfig(out_dim=16)),
    )


def short_catalogue(session: Session, folder: Path) -> list[int]:
    """Six 4-second tracks, drone and beat alternating, three albums."""
    ids = []
    for i in range(6):
        style, make = (("drone", drone), ("beat", beat))[i % 2]
        path = write_audio(folder / f"{style}_{i}.wav", make(400 + i, 4.0, 16000), 16000)
        track = Track(path=str(path), size=1, mtime=0.0, album=f"album {i // 2}", status="ok")
        session.add(track)
        session.flush()
        ids.append(track.id)
    session.commit()
    return ids


def build_index(settings: Settings) -> Any:
    return CliRunner().invoke(
        app,
        ["--home", str(settings.home), "index", "build", "--json"],
        env={"SOUNDALIKE_DATABASE_URL": settings.db_url, "SOUNDALIKE_EMBEDDING_MODEL": "musicnn-adapted"},
    )


@pytest.mark.slow
def test_kept_head_serves_embeddings_and_an_index_is_built_with_them(
    settings: Settings, session: Session, tmp_path: Path
) -> None:
    ids = short_catalogue(session, tmp_path / "music")
    torch.manual_seed(0)
    save_adaptation(settings.models_dir, projection(200, 16), adapted_record(kept=True))
    result = build_index(settings)
    assert result.exit_code == 0, result.output
    built = json.loads(result.stdout)
    assert built["model_name"] == "musicnn-adapted" and built["model_version"] == "adapt-0000abcd-kept"
    assert built["dim"] == 16 and built["count"] == len(ids)
    stored_ids, vectors, version = load_embeddings(session, "musicnn-adapted")
    assert sorted(int(t) for t in stored_ids) == ids and version == "adapt-0000abcd-kept"
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    model = AdaptedMusicnnModel(Settings(home=settings.home, database_url=settings.db_url), torch.device("cpu"))
    query = model.embed_file(Path(session.get(Track, ids[0]).path))  # type: ignore[union-attr]
    assert np.allclose(query, vectors[list(stored_ids).index(ids[0])], atol=1e-4)


def test_discarded_head_is_refused_with_a_clear_error(settings: Settings, session: Session, tmp_path: Path) -> None:
    short_catalogue(session, tmp_path / "music")
    save_adaptation(settings.models_dir, projection(200, 16), adapted_record(kept=True))
    save_adaptation(settings.models_dir, projection(200, 16), adapted_record(kept=False))
    assert not load_checkpoint(settings.models_dir / CHECKPOINT_FILE, what="adapted MusiCNN", command="")[0]
    result = build_index(settings)
    assert result.exit_code != 0 and isinstance(result.exception, ConfigError)
    assert "discarded" in str(result.exception) and "musicnn-msd" in str(result.exception)
    with pytest.raises(ConfigError, match="did not improve"):
        load_adapted(settings.models_dir)


def test_adapted_model_before_any_adaptation_is_a_clear_error(settings: Settings) -> None:
    with pytest.raises(NotFoundError, match="train adapt"):
        load_adapted(settings.models_dir)
