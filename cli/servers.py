"""``soundalike server`` (add, list, remove, test) and ``soundalike sync``: Subsonic media servers."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer

from soundalike.cli.app import app, server_app
from soundalike.cli.failures import EXIT_FAILURE
from soundalike.cli.output import JsonOption, State, database, emit, stderr, table
from soundalike.ingest.errors import InputError

SYNC_COLUMNS = ("songs", "matched", "events_added", "playlists_created", "playlists_updated", "errors")


def _read_secret() -> str:
    """The secret on stdin: its first line, asked for without echo on a terminal."""
    if sys.stdin.isatty():
        return getpass.getpass("secret: ")
    return sys.stdin.readline().rstrip("\r\n")


@server_app.command("add")
def server_add(
    name: Annotated[str, typer.Argument(help="A short name for the server, e.g. home.")],
    url: Annotated[str, typer.Argument(help="Its address, e.g. http://music.local:4533.")],
    user: Annotated[str, typer.Option("--user", help="The server user to sync as.")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
    api_key_stdin: Annotated[
        bool, typer.Option("--api-key-stdin", help="Read an OpenSubsonic API key from stdin.")
    ] = False,
    path_map: Annotated[
        str, typer.Option(help="OUR_ROOT=SERVER_ROOT pairs (default $SOUNDALIKE_SUBSONIC_PATH_MAP).")
    ] = "",
    as_json: JsonOption = False,
) -> None:
    """Store a server user's sign-in; the secret is encrypted with a key only the owner can read."""
    from soundalike.recommend.media_sync.accounts import add_account, describe

    if password_stdin == api_key_stdin:
        raise InputError("give exactly one of --password-stdin and --api-key-stdin")
    secret = _read_secret()
    home = State.settings().home
    with database() as session:
        account = add_account(
            session,
            home,
            name=name,
            url=url,
            username=user,
            auth="api_key" if api_key_stdin else "password",
            secret=secret,
            path_map=path_map,
        )
        data = describe(account)
    emit(data, as_json, lambda: table("Media server", list(data), [list(data.values())]))


@server_app.command("list")
def server_list(as_json: JsonOption = False) -> None:
    """Every stored server user (never the secrets)."""
    from soundalike.recommend.media_sync.accounts import accounts_of, describe

    with database() as session:
        servers = [describe(a) for a in accounts_of(session)]
    columns = ("name", "url", "user", "auth", "listener", "path_map")
    emit(
        {"servers": servers},
        as_json,
        lambda: table(
            "Media servers",
            columns,
            [[s[c] for c in columns] for s in servers],
            empty="No media servers yet: `soundalike server add NAME URL --user USER --password-stdin` adds one.",
        ),
    )


@server_app.command("remove")
def server_remove(
    name: Annotated[str, typer.Argument(help="The server.")],
    user: Annotated[str | None, typer.Option("--user", help="Only this user (default: every one).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Forget a server (or one of its users); the listeners' history stays."""
    from soundalike.recommend.media_sync.accounts import remove_accounts

    with database() as session:
        removed = remove_accounts(session, name, user)
    emit({"name": name, "removed": removed}, as_json, lambda: table("Removed", ("server", "users"), [[name, removed]]))


@server_app.command("test")
def server_test(
    name: Annotated[str, typer.Argument(help="The server.")],
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds to wait for an answer.")] = 30.0,
    as_json: JsonOption = False,
) -> None:
    """Sign in as each stored user of a server; exit 2 when one fails."""
    from soundalike.recommend.media_sync.accounts import accounts_of
    from soundalike.recommend.media_sync.client import connect
    from soundalike.recommend.media_sync.secrets import decrypt

    home = State.settings().home
    with database() as session:
        accounts = [(a.url, a.username, a.auth, a.secret) for a in accounts_of(session, name)]
    users = []
    for url, username, auth, token in accounts:
        with connect(url, username, auth=auth, secret=decrypt(home, token), timeout=timeout) as client:
            users.append({"user": username, "api_version": client.ping()})
    data = {"name": name, "ok": True, "users": users}
    emit(data, as_json, lambda: table("Signed in", ("user", "API"), [[u["user"], u["api_version"]] for u in users]))


@app.command("sync")
def sync(
    name: Annotated[str | None, typer.Argument(help="The server (default: every stored server).")] = None,
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds to wait for each answer.")] = 30.0,
    as_json: JsonOption = False,
) -> None:
    """Pull plays, stars and ratings from media servers, recommend, and push the playlists back.

    Exits 2 when a server failed; the counts of what was done are printed all the same.
    """
    from soundalike.ingest.db.session import open_database
    from soundalike.ingest.device import resolve_device
    from soundalike.ingest.errors import SoundalikeError
    from soundalike.recommend.media_sync.run import sync_servers
    from soundalike.recommend.service import Service

    settings = State.settings()
    factory = open_database(settings.db_url)
    try:
        index = Service.open(settings, factory, device=resolve_device(settings.device)).index
    except SoundalikeError as exc:
        stderr.print(f"no recommendations this time: {exc}")
        index = None
    report = sync_servers(factory, settings, name, index, timeout=timeout)
    data = report.as_dict()

    def render() -> None:
        table("Sync", SYNC_COLUMNS, [[*report.counts().values(), len(report.errors)]])
        if report.errors:
            table("Errors", ("listener", "error"), [[e["account"], e["error"]] for e in report.errors])
        if report.unmatched:
            table("Unmatched songs", ("song", "path", "reason"), [list(u.values()) for u in report.unmatched])

    emit(data, as_json, render)
    if report.errors:
        raise typer.Exit(EXIT_FAILURE)
