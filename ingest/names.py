"""Names people and clients give things (genres, users): printable text of bounded length."""

from __future__ import annotations

from soundalike.ingest.errors import InputError

MAX_GENRE_NAME = 128
MAX_USER_NAME = 255


def check_name(value: str, *, what: str, max_length: int) -> str:
    """``value`` without surrounding spaces; InputError when empty, too long or holding control characters."""
    cleaned = value.strip()
    if not cleaned:
        raise InputError(f"empty {what} name")
    if len(cleaned) > max_length:
        raise InputError(f"{what} name is {len(cleaned)} characters long; the limit is {max_length}")
    if not cleaned.isprintable():
        bad = next(c for c in cleaned if not c.isprintable())
        raise InputError(f"{what} name {cleaned!r} holds the non-printable character U+{ord(bad):04X}")
    return cleaned


def check_user_name(name: str) -> str:
    """A user name without surrounding spaces; InputError when empty, overlong or non-printable."""
    return check_name(name, what="user", max_length=MAX_USER_NAME)


def is_valid_name(value: str, *, max_length: int) -> bool:
    """Whether ``check_name`` would accept ``value``."""
    try:
        check_name(value, what="", max_length=max_length)
    except InputError:
        return False
    return True
