"""API keys: created with a scope, stored as a SHA-256 hash, shown in full only once, revocable.

Scopes are ordered: a ``write`` key can read, an ``admin`` key can do anything. The secret is random
(256 bits), so an unsalted SHA-256 is enough to keep it unrecoverable from the database.

A key may also sign in as a Subsonic user of the key's name. Subsonic token auth sends
``t = md5(password + s)`` with a random salt ``s``, which the server can only check by knowing the password:
so that password is stored in clear, is random and is given only to keys the operator chooses.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from soundalike.ingest.db.models import ApiKey, utcnow
from soundalike.ingest.errors import InputError, NotFoundError

SCOPES = ("read", "write", "admin")
KEY_PREFIX = "sk_"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: a key's name and scope."""

    name: str
    scope: str

    def allows(self, needed: str) -> bool:
        """Whether this principal's scope covers ``needed``."""
        return SCOPES.index(self.scope) >= SCOPES.index(needed)


def hash_secret(secret: str) -> str:
    """The stored form of a key's secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(session: Session, name: str, scope: str) -> str:
    """Store a new key and return its secret, the only time it can be seen."""
    if not NAME_PATTERN.match(name):
        raise InputError(f"key name {name!r} must be 1-64 letters, digits, '.', '_' or '-'")
    if scope not in SCOPES:
        raise InputError(f"scope {scope!r} is not one of {', '.join(SCOPES)}")
    if session.scalars(select(ApiKey).where(ApiKey.name == name)).one_or_none() is not None:
        raise InputError(f"a key named {name!r} exists already; revoke it or choose another name")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiKey(name=name, scope=scope, key_hash=hash_secret(secret)))
    session.flush()
    return secret


def list_keys(session: Session) -> list[dict[str, object]]:
    """Every key without its secret: name, scope, created, revoked, whether it may sign in as a Subsonic user."""
    rows = session.scalars(select(ApiKey).order_by(ApiKey.name))
    return [
        {
            "name": k.name,
            "scope": k.scope,
            "created_at": k.created_at,
            "revoked_at": k.revoked_at,
            "subsonic_user": k.subsonic_password is not None,
        }
        for k in rows
    ]


def _live_key(session: Session, name: str) -> ApiKey:
    key = session.scalars(select(ApiKey).where(ApiKey.name == name, ApiKey.revoked_at.is_(None))).one_or_none()
    if key is None:
        raise NotFoundError(f"no live key named {name!r}")
    return key


def revoke_key(session: Session, name: str) -> datetime:
    """Revoke a key by name; it stops working at once. NotFoundError when there is no live key of that name."""
    key = _live_key(session, name)
    key.revoked_at = utcnow()
    session.flush()
    return key.revoked_at


def authenticate(session: Session, secret: str) -> Principal | None:
    """The principal of a live key with this secret, or None."""
    key = session.scalars(
        select(ApiKey).where(ApiKey.key_hash == hash_secret(secret), ApiKey.revoked_at.is_(None))
    ).one_or_none()
    return None if key is None else Principal(key.name, key.scope)


def set_subsonic_password(session: Session, name: str) -> str:
    """Give the live key ``name`` a new random Subsonic password and return it (any earlier one stops working)."""
    key = _live_key(session, name)
    key.subsonic_password = secrets.token_urlsafe(18)
    session.flush()
    return key.subsonic_password


def subsonic_login(session: Session, user: str, token: str, salt: str) -> Principal | None:
    """The principal of the live key ``user`` when ``token`` is md5(its Subsonic password + ``salt``), else None."""
    try:
        key = _live_key(session, user)
    except NotFoundError:
        return None
    if key.subsonic_password is None:
        return None
    expected = hashlib.md5((key.subsonic_password + salt).encode(), usedforsecurity=False).hexdigest()
    return Principal(key.name, key.scope) if hmac.compare_digest(expected, token.lower()) else None
