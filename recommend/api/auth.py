"""Who may do what over HTTP: bearer API keys with scopes, checked by FastAPI security dependencies.

Every write needs a key with the ``write`` scope (index reload ``admin``), whatever the interface the
server listens on. Reads are anonymous only when the app allows it (loopback by default, or the operator's
explicit ``SOUNDALIKE_OPEN_READS``). A credential that is given is always checked: a wrong one is refused
even where anonymous reads are allowed, and so is any ``Authorization`` header that is not ``Bearer <key>``
(anonymous means no such header at all). The web page's sign-in keeps the key in an HttpOnly, SameSite=Strict
cookie, read when no bearer credential is sent. Writes from another site (a browser's cross-site request) are
refused whatever the credential.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from soundalike.ingest.db.session import session_scope
from soundalike.ingest.errors import ForbiddenError, UnauthorizedError
from soundalike.recommend.api.deps import ServiceDep
from soundalike.recommend.api_keys import Principal, authenticate
from soundalike.recommend.service import Service

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
ADMIN_TOKEN_PRINCIPAL = Principal("SOUNDALIKE_ADMIN_TOKEN", "admin")
KEY_COOKIE = "soundalike_key"
bearer = HTTPBearer(auto_error=False, description="An API key from `soundalike keys create NAME --scope ...`.")
key_cookie = APIKeyCookie(name=KEY_COOKIE, auto_error=False, description="The key the web page's sign-in stored.")


def is_loopback(host: str) -> bool:
    """Whether a listening address is reachable only from this machine."""
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def principal(
    request: Request,
    service: ServiceDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    cookie: Annotated[str | None, Depends(key_cookie)],
) -> Principal | None:
    """The caller behind the bearer credential, else the signed-in key's cookie; None without either;
    UnauthorizedError for a wrong one or for an ``Authorization`` header that is not ``Bearer <key>``."""
    if credentials is None and "authorization" in request.headers:
        raise UnauthorizedError("the Authorization header is not 'Bearer <key>'")
    if credentials is None and cookie is None:
        return None
    found = identify(service, credentials.credentials if credentials is not None else str(cookie))
    if found is None:
        where = "'Authorization: Bearer <key>'" if credentials is not None else "the sign-in cookie"
        raise UnauthorizedError(f"the API key in {where} is unknown or revoked")
    return found


def identify(service: Service, secret: str) -> Principal | None:
    """The principal of an API key or of the operator's ``SOUNDALIKE_ADMIN_TOKEN``; None when it is neither."""
    token = service.settings.admin_token
    if token is not None and secrets.compare_digest(secret.encode(), token.get_secret_value().encode()):
        return ADMIN_TOKEN_PRINCIPAL
    with session_scope(service.factory) as session:
        return authenticate(session, secret)


def refuse_cross_site(request: Request) -> None:
    """Refuse a request a browser sent on behalf of another site (Fetch metadata, else Origin vs Host)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        raise ForbiddenError(f"cross-site requests may not write (Sec-Fetch-Site: {site})")
    origin = request.headers.get("origin")
    if site is None and origin and urlsplit(origin).netloc != request.headers.get("host"):
        raise ForbiddenError(f"cross-site requests may not write (Origin: {origin})")


def require(scope: str) -> Callable[..., Principal | None]:
    """A dependency that lets the request through only for a principal with ``scope``."""

    def check(request: Request, who: Annotated[Principal | None, Depends(principal)]) -> Principal | None:
        if scope != "read":
            refuse_cross_site(request)
        if who is None:
            if scope == "read" and request.app.state.anonymous_reads:
                return None
            raise UnauthorizedError(
                f"this request needs an API key with scope {scope!r}: 'Authorization: Bearer <key>' "
                "(create one with `soundalike keys create NAME --scope " + scope + "`)",
                needs=scope,
            )
        if not who.allows(scope):
            raise ForbiddenError(f"key {who.name!r} has scope {who.scope!r}; this request needs {scope!r}", needs=scope)
        return who

    check.__name__ = f"require_{scope}"
    return check


read_access = require("read")
write_access = require("write")
admin_access = require("admin")
