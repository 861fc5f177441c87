"""A list with nothing in it says, beneath its empty table, which command fills it; ``--json`` stays the bare list."""

from __future__ import annotations

import pytest

from soundalike.ingest.settings import Settings

from support.cli_runner import run_cli, run_for_people

HINTS = [
    (("mixes",), "mixes", "No mixes yet: `soundalike mixes refresh`"),
    (("keys", "list"), "keys", "No API keys yet: `soundalike keys create NAME`"),
    (("server", "list"), "servers", "No media servers yet: `soundalike server add NAME URL"),
    (("genres", "list"), "tracks", "No genres yet: they come from file tags at ingest, `soundalike labels import"),
]


@pytest.mark.parametrize(("args", "key", "hint"), HINTS, ids=[" ".join(args) for args, _, _ in HINTS])
def test_an_empty_list_names_the_command_that_fills_it(
    settings: Settings, args: tuple[str, ...], key: str, hint: str
) -> None:
    printed = run_for_people(settings, *args)
    assert hint in printed and printed.index(hint) > printed.index("┃")
    assert run_cli(settings, *args) == {key: []}


def test_a_list_with_rows_gives_no_hint(settings: Settings) -> None:
    run_cli(settings, "keys", "create", "player")
    printed = run_for_people(settings, "keys", "list")
    assert "player" in printed and "No API keys yet" not in printed
