"""File paths as database text: reversible even for names that are not valid UTF-8.

POSIX file names are bytes. Python decodes undecodable bytes to lone surrogates (U+DC80..U+DCFF),
which neither SQLite nor PostgreSQL accept as text. Such a byte is stored as the private-use code
point U+F780..U+F7FF instead, and mapped back when the path is read. That stored text is for the
database only: people read ``readable_path`` (each undecodable byte shown as U+FFFD), and whatever
must name the file exactly (an M3U line, a JSON ``path_bytes`` field) uses ``path_bytes`` or ``exact_path_b64``.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

_SURROGATE_TO_PRIVATE = {code: code - 0xDC80 + 0xF780 for code in range(0xDC80, 0xDD00)}
_PRIVATE_TO_SURROGATE = {v: k for k, v in _SURROGATE_TO_PRIVATE.items()}


def absolute_path(path: Path | str) -> Path:
    """``path`` made absolute with ``.`` and ``..`` removed, as a shell spells it (symlinks are kept, not resolved):
    every spelling of a file names the same catalogue path, ``../music/a.flac`` and ``/home/me/music/a.flac``
    alike."""
    return Path(os.path.abspath(path))


def to_db_path(path: Path | str) -> str:
    """The text stored for ``path``: valid UTF-8, equal to ``str(path)`` for ordinary names."""
    return str(path).translate(_SURROGATE_TO_PRIVATE)


def from_db_path(text: str) -> Path:
    """The file path a stored text names (the inverse of ``to_db_path``)."""
    return Path(text.translate(_PRIVATE_TO_SURROGATE))


def path_bytes(text: str) -> bytes:
    """The exact bytes of the file name a stored text names."""
    return os.fsencode(from_db_path(text))


def readable_path(text: str) -> str:
    """The file name a stored text names, for people: each byte that is not UTF-8 becomes U+FFFD."""
    return path_bytes(text).decode("utf-8", errors="replace")


def exact_path_b64(text: str) -> str | None:
    """Base64 of the file name's exact bytes when they are not valid UTF-8 (what ``readable_path`` cannot
    show), else None."""
    name = path_bytes(text)
    try:
        name.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(name).decode("ascii")
    return None
