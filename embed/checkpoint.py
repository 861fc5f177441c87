"""Trained models on disk: weights and their metadata as one safetensors file, written atomically.

The metadata is JSON under one key of the safetensors header, so a reader never sees new weights with old
metadata (class names, temperature, version). A file saved before the metadata moved into the header, or
a missing one, is refused with the command that trains it again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from soundalike.ingest.atomic_files import atomic_write
from soundalike.ingest.errors import NotFoundError, PreconditionError

META_KEY = "soundalike.meta"


def save_checkpoint(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path:
    """Write ``tensors`` with ``meta`` (JSON) in the header as one file, atomically; returns ``path``."""
    header = {META_KEY: json.dumps(meta)}
    return atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=header))


def load_checkpoint(path: Path, *, what: str, command: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(tensors, metadata) saved by ``save_checkpoint``; NotFoundError when there is none yet, PreconditionError
    for a file of an older format or one that does not read (both name ``command``, which writes it again)."""
    if not path.is_file():
        raise NotFoundError(f"no {what} yet (run `{command}`)")
    try:
        with safe_open(str(path), "pt") as saved:
            header = saved.metadata() or {}
            tensors = {key: saved.get_tensor(key) for key in saved.keys()}
    except (SafetensorError, OSError) as exc:
        raise PreconditionError(f"the {what} at {path} cannot be read ({exc}): run `{command}` again") from exc
    if META_KEY not in header:
        raise PreconditionError(f"the {what} at {path} was saved in an older format: run `{command}` again")
    return tensors, json.loads(header[META_KEY])
