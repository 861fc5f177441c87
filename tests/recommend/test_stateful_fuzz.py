"""A stateful schemathesis run (links between operations inferred from the schema) with a write key, a fixed
seed and a fixed budget: no 5xx, no traceback, no junk name stored."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis.stateful import run_state_machine_as_test
from sqlalchemy import select

from soundalike.ingest.db.models import Genre, User
from soundalike.ingest.db.session import session_scope
from soundalike.recommend.api.app import create_app

from support.recommend_fixtures import Catalogue, bearer

LOOPBACK_HOST = {"Host": "127.0.0.1"}
BUDGET = hypothesis_settings(
    max_examples=30,
    stateful_step_count=8,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.mark.slow
def test_a_stateful_run_with_a_write_key_never_fails_the_server(catalogue: Catalogue) -> None:
    app = create_app(catalogue.settings, service=catalogue.service)
    app.state.service = catalogue.service
    headers = bearer(catalogue, "fuzzer", "write") | LOOPBACK_HOST
    calls: list[int] = []
    failures: list[str] = []

    class Fuzz(schemathesis.openapi.from_asgi("/openapi.json", app, headers=LOOPBACK_HOST).as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"headers": headers}

        def validate_response(self, response: schemathesis.Response, case: schemathesis.Case, **_: Any) -> None:
            calls.append(response.status_code)
            if response.status_code >= 500 or "Traceback" in response.text:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:200]}")

    run_state_machine_as_test(Fuzz, settings=BUDGET)
    assert failures == [] and len(calls) > 100
    with session_scope(catalogue.service.factory) as session:
        names = list(session.scalars(select(Genre.name))) + list(session.scalars(select(User.name)))
    assert all(name.isprintable() and 0 < len(name) <= 255 for name in names)
