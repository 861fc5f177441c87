"""File paths as database text: reversible even for names that are not valid UTF-8.

POSIX file names are bytes. Python decodes undecodable bytes to lone surrogates (U+DC80..U+DCFF),
which neither SQLite nor PostgreSQL accept as text. Such a byte is stored as the private-use code
point U+F780..U+F7FF instead, and mapped back when the path is read.
"""

from __future__ import annotations

from pathlib import Path

_SURROGATE_TO_PRIVATE = {code: code - 0xDC80 + 0xF780 for code in range(0xDC80, 0xDD00)}
_PRIVATE_TO_SURROGATE = {v: k for k, v in _SURROGATE_TO_PRIVATE.items()}


def to_db_path(path: Path | str) -> str:
    """The text stored for ``path``: valid UTF-8, equal to ``str(path)`` for ordinary names."""
    return str(path).translate(_SURROGATE_TO_PRIVATE)


def from_db_path(text: str) -> Path:
    """The file path a stored text names (the inverse of ``to_db_path``)."""
    return Path(text.translate(_PRIVATE_TO_SURROGATE))
