"""``soundalike keys``: API keys for the HTTP API (create prints the secret once; list; revoke; subsonic-user)."""

from __future__ import annotations

from typing import Annotated

import typer

from soundalike.cli.app import keys_app
from soundalike.cli.output import JsonOption, database, emit, stderr, table
from soundalike.recommend.api_keys import SCOPES, create_key, list_keys, revoke_key, set_subsonic_password


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="A name for the key (who or what uses it).")],
    scope: Annotated[str, typer.Option(help=f"One of {', '.join(SCOPES)}.")] = "read",
    as_json: JsonOption = False,
) -> None:
    """Create an API key; its secret is printed now and never again."""
    with database() as session:
        secret = create_key(session, name, scope)
    data = {"name": name, "scope": scope, "key": secret}

    def render() -> None:
        table("API key", ("name", "scope", "key"), [[name, scope, secret]])
        stderr.print("Store the key now: it cannot be shown again. Send it as 'Authorization: Bearer <key>'.")

    emit(data, as_json, render)


@keys_app.command("list")
def keys_list(as_json: JsonOption = False) -> None:
    """Every API key with its scope and state (never the secrets)."""
    with database() as session:
        keys = list_keys(session)
    rows = [[k["name"], k["scope"], k["created_at"], k["revoked_at"] or "live", k["subsonic_user"]] for k in keys]
    columns = ("name", "scope", "created", "revoked", "subsonic user")
    empty = (
        "No API keys yet: `soundalike keys create NAME` makes a read key, `--scope write` one for players that "
        "record plays."
    )
    emit({"keys": keys}, as_json, lambda: table("API keys", columns, rows, empty=empty))


@keys_app.command("revoke")
def keys_revoke(name: Annotated[str, typer.Argument(help="The key to revoke.")], as_json: JsonOption = False) -> None:
    """Revoke an API key: requests with it are refused from now on."""
    with database() as session:
        revoked_at = revoke_key(session, name)
    emit(
        {"name": name, "revoked_at": revoked_at},
        as_json,
        lambda: table("Revoked", ("name", "at"), [[name, revoked_at]]),
    )


@keys_app.command("subsonic-user")
def keys_subsonic_user(
    name: Annotated[str, typer.Argument(help="A live key; it signs in as the Subsonic user of this name.")],
    as_json: JsonOption = False,
) -> None:
    """Let a key sign in to the /rest/ routes with Subsonic token auth: prints a new password (stored in clear)."""
    with database() as session:
        password = set_subsonic_password(session, name)
    data = {"user": name, "password": password}

    def render() -> None:
        table("Subsonic user", ("user", "password"), [[name, password]])
        stderr.print(
            "Enter these in a Subsonic client. The password is kept in clear in the database (the Subsonic token "
            "scheme needs it); running this again replaces it, revoking the key retires it."
        )

    emit(data, as_json, render)
