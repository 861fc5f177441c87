"""Media-server accounts in the database: added with their secret encrypted, listed without it, removed.

A server is known by a short ``name``; each of its users that Soundalike syncs is one account, and the
Soundalike listener for that user is ``NAME:USER``.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from soundalike.ingest.db.models import MediaServerAccount
from soundalike.ingest.errors import InputError, NotFoundError
from soundalike.ingest.names import check_name, check_user_name
from soundalike.recommend.media_server import PathMap
from soundalike.recommend.media_sync.secrets import encrypt

AUTH_KINDS = ("password", "api_key")
MAX_SERVER_NAME = 64


def check_server_name(name: str) -> str:
    """A server name: printable, at most 64 characters, without ``:`` (it separates server and user)."""
    cleaned = check_name(name, what="server", max_length=MAX_SERVER_NAME)
    if ":" in cleaned:
        raise InputError(f"server name {cleaned!r} holds ':', which separates server and user in listener names")
    return cleaned


def check_url(url: str) -> str:
    """An http(s) URL without credentials in it."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"server URL {url!r} is not an http:// or https:// address")
    if parts.username or parts.password:
        raise InputError("the server URL holds credentials; give the user with --user and the secret on stdin")
    return url.strip().rstrip("/")


def listener_name(account: MediaServerAccount) -> str:
    """The Soundalike listener of an account: ``NAME:USER``, checked as every user name is."""
    return check_user_name(f"{account.name}:{account.username}")


def add_account(
    session: Session,
    home: Path,
    *,
    name: str,
    url: str,
    username: str,
    auth: str,
    secret: str,
    path_map: str = "",
) -> MediaServerAccount:
    """Store an account, or replace the URL, secret and path map of the same server user."""
    if auth not in AUTH_KINDS:
        raise InputError(f"auth must be one of {', '.join(AUTH_KINDS)}, got {auth!r}")
    if not secret:
        raise InputError("the secret on stdin is empty")
    PathMap.parse(path_map)
    account = MediaServerAccount(name=check_server_name(name), url=check_url(url), username=username.strip())
    check_user_name(username)
    listener_name(account)
    stored = session.scalars(
        select(MediaServerAccount).where(
            MediaServerAccount.name == account.name, MediaServerAccount.username == account.username
        )
    ).one_or_none()
    account = stored or account
    account.url, account.auth, account.path_map = check_url(url), auth, path_map
    account.secret = encrypt(home, secret)
    session.add(account)
    session.flush()
    return account


def accounts_of(session: Session, name: str | None = None) -> list[MediaServerAccount]:
    """The accounts of server ``name`` (every account when None); NotFoundError for a name with none."""
    query = select(MediaServerAccount).order_by(MediaServerAccount.name, MediaServerAccount.username)
    if name is not None:
        query = query.where(MediaServerAccount.name == name.strip())
    accounts = list(session.scalars(query))
    if name is not None and not accounts:
        raise NotFoundError(f"no media server named {name!r}")
    return accounts


def describe(account: MediaServerAccount) -> dict[str, object]:
    """An account as shown to people and in ``--json``: never its secret."""
    return {
        "name": account.name,
        "url": account.url,
        "user": account.username,
        "auth": account.auth,
        "listener": listener_name(account),
        "path_map": account.path_map,
    }


def remove_accounts(session: Session, name: str, username: str | None = None) -> int:
    """Remove a server's accounts (or one user's); how many. The Soundalike listeners and their history stay."""
    ids = [a.id for a in accounts_of(session, name) if username is None or a.username == username]
    if not ids:
        raise NotFoundError(f"media server {name!r} has no user {username!r}")
    session.execute(delete(MediaServerAccount).where(MediaServerAccount.id.in_(ids)))
    return len(ids)
