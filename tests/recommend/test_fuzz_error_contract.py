"""Fuzzing the routes that store or serve a listener's requests (plays, genre and mood reviews, radios and their
feedback, a track's audio, similar tracks, playlists, tracks, health) with a write key, derandomised and with a
fixed budget: every answer keeps the API's error contract (tests/support/error_contract.py), and with the
database refusing writes while the fuzzer posts, the writes are refused 503 with Retry-After, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest
import schemathesis
import torch
from bench_service import prepare_load
from fastapi import FastAPI
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from soundalike.recommend.api.app import create_app
from soundalike.recommend.service import Service

from support.db_faults import EACH_FAULT, skip_unless_possible, unwritable
from support.error_contract import breach
from support.recommend_fixtures import Catalogue
from support.servers import in_process

LOOPBACK_HOST = {"Host": "127.0.0.1"}
ROUTES = frozenset(
    {
        "/users/{user}/events",
        "/users/{user}/playlist",
        "/tracks/{track_id}/genres/review",
        "/tracks/{track_id}/moods/review",
        "/tracks/{track_id}/audio",
        "/tracks/{track_id}/similar",
        "/tracks/{track_id}",
        "/tracks",
        "/similar",
        "/radio",
        "/radio/{radio}/feedback",
        "/health",
    }
)
WRITES = frozenset({"POST", "DELETE"})
TRACKS = 72
BUDGET = hypothesis_settings(
    max_examples=10, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)


@dataclass
class Answers:
    """What the fuzzer saw: every (method, path template, status), and each breach of the contract."""

    seen: list[tuple[str, str, int]] = field(default_factory=list)
    breaches: list[str] = field(default_factory=list)


@dataclass
class Served:
    """The app serving a copy of the catalogue, its write key, and its database URL."""

    app: FastAPI
    auth: dict[str, str]
    url: str
    radio: str


@pytest.fixture
def served(catalogue: Catalogue) -> Iterator[Served]:
    """The catalogue with real WAV files behind its first tracks, served in process with a 0.05 s wait for the
    database (a refused write is answered at once)."""
    settings = catalogue.settings.model_copy(update={"db_wait_s": 0.05})
    key = prepare_load(settings.home, settings.db_url)
    service = Service.open(settings, device=torch.device("cpu"))
    app = create_app(settings, service=service)
    app.state.service = service
    auth = {"Authorization": f"Bearer {key}"} | LOOPBACK_HOST
    radio = in_process(app)("POST", "/radio", json={"seeds": [5]}, headers=auth).json()["session"]
    try:
        yield Served(app, auth, settings.db_url, radio)
    finally:
        service.close()


def into_catalogue(value: object) -> object:
    """``value`` with every generated track id (``track_id``, ``seeds``; JSON numbers, integral or not) moved
    onto one of the catalogue's."""
    if isinstance(value, list):
        return [into_catalogue(item) for item in value]
    if not isinstance(value, dict):
        return value
    moved = {key: into_catalogue(item) for key, item in value.items()}
    for key in ("track_id", "seeds"):
        if key in moved:
            ids = moved[key]
            moved[key] = [catalogue_id(i) for i in ids] if isinstance(ids, list) else catalogue_id(ids)
    return moved


def catalogue_id(value: object) -> object:
    """A whole number moved onto the catalogue's ids 1..``TRACKS``; anything else as it is."""
    if isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer():
        return 1 + (int(value) - 1) % TRACKS
    return value


def anchored(case: schemathesis.Case, radio: str) -> None:
    """A valid ``case`` made to reach the database: its track ids are the catalogue's, its radio a live one."""
    case.path_parameters = cast(dict[str, Any], into_catalogue(case.path_parameters or {}))
    if "radio" in case.path_parameters:
        case.path_parameters["radio"] = radio
    case.body = cast(Any, into_catalogue(case.body))


def fuzz(served: Served, methods: frozenset[str] | None = None) -> Answers:
    """Every chosen operation, ten valid and ten invalid cases each (an operation without parameters has no
    invalid case), derandomised; the valid ones name the catalogue's tracks and a live radio."""
    answers = Answers()
    schema = schemathesis.openapi.from_asgi("/openapi.json", served.app, headers=LOOPBACK_HOST)
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an Err (a broken schema) fails here
        if operation.path in ROUTES and (not methods or operation.method.upper() in methods):
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                try:
                    cases(served, operation, mode, answers)
                except Unsatisfiable:
                    assert mode is GenerationMode.NEGATIVE, f"{operation.label} has no valid request"
    return answers


def cases(served: Served, operation: schemathesis.APIOperation, mode: GenerationMode, answers: Answers) -> None:
    """Send ten cases of ``operation`` in ``mode`` and note what came back."""

    @BUDGET
    @given(case=operation.as_strategy(mode))
    def one(case: schemathesis.Case) -> None:
        if mode is GenerationMode.POSITIVE:
            anchored(case, served.radio)
        response = case.call(headers=served.auth)
        answers.seen.append((case.method.upper(), case.path, response.status_code))
        text = response.content.decode(errors="replace")
        found = breach(case.formatted_path, response.status_code, response.headers, text)
        if found:
            answers.breaches.append(f"{case.method} {case.formatted_path} {case.body!r:.200}: {found}")

    one()


@pytest.mark.slow
def test_fuzzed_reads_and_writes_keep_the_error_contract(served: Served) -> None:
    answers = fuzz(served)
    assert answers.breaches == []
    assert {path for _, path, _ in answers.seen} == ROUTES
    written = {status for method, _, status in answers.seen if method in WRITES}
    assert 422 in written and written & {200, 201}, "valid writes were stored, invalid ones refused"
    assert ("GET", "/tracks/{track_id}/audio", 200) in answers.seen, "a library file was served"


@pytest.mark.slow
@EACH_FAULT
def test_fuzzed_writes_to_an_unwritable_database_are_refused_503_never_500(
    served: Served, db_url: str, fault: str, tmp_path: Path
) -> None:
    skip_unless_possible(fault, tmp_path)
    with unwritable(served.url, fault):
        answers = fuzz(served, WRITES)
    statuses = [status for _, _, status in answers.seen]
    assert answers.breaches == []
    assert 503 in statuses and 500 not in statuses
    assert not [seen for seen in answers.seen if seen[2] < 300], "nothing is acknowledged while writes fail"
