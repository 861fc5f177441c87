"""The contrastive adaptation is kept only when held-out tracks retrieve their own excerpts better."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from audio_factory import beat, drone, write_audio
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from soundalike.cli import app
from soundalike.embed.adapt import AdaptConfig, adapt, decide
from soundalike.ingest.db.models import Track
from soundalike.ingest.settings import Settings


def test_decide_keeps_only_a_head_that_retrieves_better_without_losing_albums() -> None:
    base = {"recall@1": 0.5, "album_precision@10": 0.6}
    assert decide(base, {"recall@1": 0.7, "album_precision@10": 0.59}, album_tolerance=0.02)[0]
    assert not decide(base, {"recall@1": 0.5, "album_precision@10": 0.9}, album_tolerance=0.02)[0]
    kept, reason = decide(base, {"recall@1": 0.9, "album_precision@10": 0.4}, album_tolerance=0.02)
    assert not kept and "album" in reason
    assert not decide({"album_precision@10": 0.6}, {"album_precision@10": 0.6}, album_tolerance=0.02)[0]


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
    saved = json.loads((settings.models_dir / "musicnn-adapted.json").read_text())
    assert saved == record
    assert record["kept"] == decide(record["baseline"], record["adapted"], album_tolerance=0.02)[0]
    assert (settings.models_dir / "musicnn-adapted.safetensors").exists() == record["kept"]
    assert record["n_train"] + record["n_held_out"] == 12
