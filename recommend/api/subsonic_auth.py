"""Who calls the Subsonic routes: parameters from the query string or a form-encoded POST, and Subsonic auth.

Two ways to sign in, both tied to our API keys: the OpenSubsonic ``apiKeyAuthentication`` extension
(``apiKey`` = an API key, or the operator's ``SOUNDALIKE_ADMIN_TOKEN`` as for bearer credentials) and Subsonic
token auth (``u`` = the name of a key given a Subsonic password with
``soundalike keys subsonic-user``, ``t`` = md5(password + ``s``)). Credentials that are given are always
checked; without any, the request passes only where the app allows anonymous reads. Plain passwords (``p``)
are not accepted: they would travel and be logged in clear.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from soundalike.ingest.db.session import session_scope
from soundalike.recommend.api.auth import identify
from soundalike.recommend.api.deps import ServiceDep
from soundalike.recommend.api.subsonic_envelope import (
    CONFLICTING_AUTH,
    INVALID_API_KEY,
    MISSING_PARAMETER,
    UNSUPPORTED_AUTH,
    WRONG_CREDENTIALS,
    SubsonicError,
)
from soundalike.recommend.api_keys import Principal, subsonic_login
from soundalike.recommend.service import Service


async def subsonic_params(request: Request) -> dict[str, str]:
    """The request's parameters: the query string, overridden by the fields of a form-encoded POST body."""
    params = dict(request.query_params)
    if request.method == "POST":
        form = await request.form()
        params.update({key: value for key, value in form.items() if isinstance(value, str)})
    request.state.subsonic_params = params
    return params


Params = Annotated[dict[str, str], Depends(subsonic_params)]


def subsonic_caller(request: Request, service: ServiceDep, params: Params) -> Principal | None:
    """The caller behind ``apiKey`` or ``u``/``t``/``s``; None for an allowed anonymous read; else SubsonicError."""
    api_key, user = params.get("apiKey"), params.get("u")
    if api_key is not None and user is not None:
        raise SubsonicError(CONFLICTING_AUTH, "give either apiKey or u, not both")
    if api_key is not None:
        found = identify(service, api_key)
        if found is None:
            raise SubsonicError(INVALID_API_KEY, "the apiKey is unknown or revoked")
        return found
    if user is not None:
        return token_login(service, user, params)
    if "p" in params or "t" in params:
        raise SubsonicError(MISSING_PARAMETER, "required parameter 'u' is missing")
    if request.app.state.anonymous_reads:
        return None
    raise SubsonicError(
        MISSING_PARAMETER,
        "required parameter 'apiKey' (or 'u' with 't' and 's') is missing: "
        "create a key with `soundalike keys create NAME`",
    )


def token_login(service: Service, user: str, params: dict[str, str]) -> Principal:
    """The key signed in by Subsonic token auth; SubsonicError for a password, missing token or wrong one."""
    if "p" in params:
        raise SubsonicError(
            UNSUPPORTED_AUTH, "password authentication (p) is not supported: use token authentication or apiKey"
        )
    token, salt = params.get("t"), params.get("s")
    if not token or not salt:
        raise SubsonicError(MISSING_PARAMETER, "token authentication needs the parameters 't' and 's'")
    with session_scope(service.factory) as session:
        found = subsonic_login(session, user, token, salt)
    if found is None:
        raise SubsonicError(WRONG_CREDENTIALS, "wrong username or password")
    return found
