"""Content hashes that identify audio files independently of their path."""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK_BYTES = 1 << 20


def content_hash(path: Path) -> str:
    """BLAKE2b-128 hex digest of the file's bytes, read in 1 MiB chunks."""
    digest = hashlib.blake2b(digest_size=16)
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()
