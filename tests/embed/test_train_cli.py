"""``soundalike train cnn`` on a catalogue of real encoded files, then used as the embedding model."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from soundalike.cli import app
from soundalike.embed.models import embedding_model
from soundalike.embed.musicnn import load_musicnn
from soundalike.embed.store import load_embeddings
from soundalike.embed.trained_cnn import load_trained_cnn
from soundalike.ingest.db.models import Track
from soundalike.ingest.db.session import open_database
from soundalike.ingest.errors import NotFoundError
from soundalike.ingest.paths import to_db_path
from soundalike.ingest.repository import set_track_genre
from soundalike.ingest.settings import Settings

from support.audio_factory import beat, drone, write_audio

STYLES = {"drone": drone, "beat": beat}


def invoke(settings: Settings, *args: str, model: str = "cnn-trained") -> Any:
    return CliRunner().invoke(
        app,
        ["--home", str(settings.home), *args],
        env={"SOUNDALIKE_DATABASE_URL": settings.db_url, "SOUNDALIKE_EMBEDDING_MODEL": model},
    )


@pytest.fixture
def labelled_catalogue(session: Session, tmp_path: Path) -> dict[str, list[int]]:
    """Ten 4-second tracks per style in five albums, written as FLAC; all but the last two labelled.

    One name is not valid UTF-8, stored as ingest stores it (``to_db_path``): training must still read it.
    """
    ids: dict[str, list[int]] = {}
    for style, make in STYLES.items():
        for i in range(10):
            path = write_audio(tmp_path / "music" / f"{style}_{i}.flac", make(200 + i, 4.0, 22050), 22050)
            if i == 0:
                path = path.rename(path.with_name(os.fsdecode(f"{style}_\xff.flac".encode("latin-1"))))
            track = Track(
                path=to_db_path(path), size=path.stat().st_size, mtime=0.0, album=f"{style} {i // 2}", status="ok"
            )
            session.add(track)
            session.flush()
            ids.setdefault(style, []).append(track.id)
            if i < 8:
                set_track_genre(session, track.id, style, source="label")
    session.commit()
    return ids


@pytest.mark.slow
def test_train_cnn_saves_a_checkpoint_that_serves_as_embedding_model(
    settings: Settings, labelled_catalogue: dict[str, list[int]]
) -> None:
    result = invoke(settings, "train", "cnn", "--epochs", "5", "--patience", "3", "--json")
    assert result.exit_code == 0, result.output
    meta = json.loads(result.stdout)
    assert meta["classes"] == ["beat", "drone"] and meta["n_train"] + meta["n_held_out"] == 16
    assert meta["val_accuracy"] >= 0.75  # chance is 0.5
    weights = load_file(str(settings.models_dir / "cnn-trained.safetensors"))
    assert weights and all(np.isfinite(t.numpy()).all() for t in weights.values())
    assert load_trained_cnn(settings.models_dir)[0].version == meta["version"]
    assert Path(meta["curves_png"]).stat().st_size > 5000

    model = embedding_model(
        Settings(home=settings.home, database_url=settings.db_url, embedding_model="cnn-trained"), torch.device("cpu")
    )
    with open_database(settings.db_url)() as session:
        assert model.refresh(session) == (20, meta["version"])
        ids, vectors, _ = load_embeddings(session, "cnn-trained")
    query = labelled_catalogue["drone"][9]
    scores = vectors @ vectors[list(ids).index(query)]
    nearest = [int(ids[n]) for n in np.argsort(-scores)[1:6]]
    assert sum(t in labelled_catalogue["drone"] for t in nearest) >= 4


def test_train_cnn_without_labels_is_a_clear_error(settings: Settings, session: Session) -> None:
    result = invoke(settings, "train", "cnn", "--epochs", "1", "--json")
    assert result.exit_code != 0
    assert "2 genres" in str(result.exception)


def test_cnn_model_before_training_is_a_clear_error(settings: Settings, session: Session) -> None:
    model = embedding_model(
        Settings(home=settings.home, database_url=settings.db_url, embedding_model="cnn-trained"), torch.device("cpu")
    )
    with pytest.raises(NotFoundError, match="train cnn"):
        model.refresh(session)


@pytest.mark.slow
def test_train_cnn_finetune_keeps_the_front_end_and_beats_chance_on_held_out_albums(
    settings: Settings, labelled_catalogue: dict[str, list[int]]
) -> None:
    result = invoke(settings, "train", "cnn", "--finetune", "--epochs", "2", "--patience", "2", "--json")
    assert result.exit_code == 0, result.output
    meta = json.loads(result.stdout)
    assert meta["architecture"] == "musicnn-finetuned" and meta["crop_frames"] == 187
    assert meta["n_held_out"] >= 2 and meta["val_accuracy"] > 0.5  # chance is 0.5
    saved, model = load_trained_cnn(settings.models_dir)
    assert saved.version == meta["version"] and not model.training
    pretrained = load_musicnn("MSD_musicnn").state_dict()
    tuned = model.backbone.state_dict()
    assert all(torch.equal(tuned[k], v) for k, v in pretrained.items() if k.startswith(("front.", "input_bn.")))
    assert any(not torch.equal(tuned[k], v) for k, v in pretrained.items() if k.startswith(("mid.", "dense.")))
