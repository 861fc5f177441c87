"""Media-server secrets encrypted at rest with Fernet, under a key file readable only by its owner.

The key lives in ``$SOUNDALIKE_HOME/secret.key`` (mode 0600), made on first use; the database holds only the
ciphertext, so a copy of the database alone does not give the passwords away. Every process that syncs
needs the same key file.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from soundalike.ingest.errors import ConfigError

KEY_FILE = "secret.key"


def key_path(home: Path) -> Path:
    """Where the key of the data folder ``home`` lives."""
    return home / KEY_FILE


def load_key(home: Path, *, create: bool) -> bytes:
    """The key, made (mode 0600) when absent and ``create``; ConfigError when absent or readable by others."""
    path = key_path(home)
    if not path.exists():
        if not create:
            raise ConfigError(f"{path} is missing: the stored media-server secrets cannot be read without it")
        home.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return load_key(home, create=False)
        with os.fdopen(fd, "wb") as handle:
            handle.write(Fernet.generate_key())
    if path.stat().st_mode & 0o077:
        raise ConfigError(f"{path} is readable by others; make it private with chmod 600")
    return path.read_bytes().strip()


def encrypt(home: Path, secret: str) -> bytes:
    """``secret`` encrypted with the key of ``home`` (made on first use)."""
    return Fernet(load_key(home, create=True)).encrypt(secret.encode())


def decrypt(home: Path, token: bytes) -> str:
    """A secret ``encrypt`` made; ConfigError when the key is missing or not the one it was made with."""
    try:
        return Fernet(load_key(home, create=False)).decrypt(token).decode()
    except InvalidToken as exc:
        raise ConfigError(f"{key_path(home)} is not the key the media-server secrets were stored with") from exc
