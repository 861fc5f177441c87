"""Weights and their metadata are one file: a crash mid-save leaves the previous pair, old formats ask to retrain."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from soundalike.embed.checkpoint import load_checkpoint, save_checkpoint
from soundalike.ingest.errors import NotFoundError, PreconditionError

COMMAND = "soundalike train cnn"


def test_weights_and_metadata_read_back_together(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "m.safetensors", {"w": torch.arange(6.0).reshape(2, 3)}, {"classes": ["a", "b"]})
    tensors, meta = load_checkpoint(path, what="model", command=COMMAND)
    assert torch.equal(tensors["w"], torch.arange(6.0).reshape(2, 3)) and meta == {"classes": ["a", "b"]}


def test_a_crash_before_the_rename_keeps_the_previous_weights_with_their_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = save_checkpoint(tmp_path / "m.safetensors", {"w": torch.zeros(2)}, {"classes": ["a", "b"]})

    def power_cut(src: object, dst: object) -> None:
        raise OSError("power cut")

    with monkeypatch.context() as patched:
        patched.setattr(os, "replace", power_cut)
        with pytest.raises(OSError, match="power cut"):
            save_checkpoint(path, {"w": torch.ones(3)}, {"classes": ["a", "b", "c"]})
    tensors, meta = load_checkpoint(path, what="model", command=COMMAND)
    assert torch.equal(tensors["w"], torch.zeros(2)) and meta == {"classes": ["a", "b"]}
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


def test_a_missing_checkpoint_names_the_command_that_trains_it(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no model yet \\(run `soundalike train cnn`\\)"):
        load_checkpoint(tmp_path / "m.safetensors", what="model", command=COMMAND)


def test_weights_saved_without_metadata_inside_ask_for_retraining(tmp_path: Path) -> None:
    save_file({"w": torch.zeros(2)}, str(tmp_path / "m.safetensors"), metadata={"version": "old"})
    with pytest.raises(PreconditionError, match="older format: run `soundalike train cnn` again"):
        load_checkpoint(tmp_path / "m.safetensors", what="model", command=COMMAND)


def test_a_damaged_checkpoint_asks_for_retraining(tmp_path: Path) -> None:
    (tmp_path / "m.safetensors").write_bytes(b"\xff" * 64)
    with pytest.raises(PreconditionError, match="cannot be read"):
        load_checkpoint(tmp_path / "m.safetensors", what="model", command=COMMAND)
