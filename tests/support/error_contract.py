"""What every API answer promises, checked on answers a fuzzer provoked: no 5xx but a documented 503 (with
``Retry-After``), and every error a JSON body with ``error`` and ``type``.

The documented 503s are a database that cannot be used now (``DatabaseUnavailable``), a full server (``Busy``)
and ``/health`` reporting ``degraded``. The OpenSubsonic routes answer errors in their own envelope.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

DOCUMENTED_503 = frozenset({"DatabaseUnavailable", "Busy"})


def breach(path: str, status: int, headers: Mapping[str, str], text: str) -> str | None:
    """What is wrong with one answer to a request for ``path``, or None when it keeps the contract."""
    if status < 400 or path.startswith("/rest/"):
        return None
    body = _json(text)
    if status >= 500:
        if status != 503:
            return f"{status}: {text[:200]}"
        if "retry-after" not in {name.lower() for name in headers}:
            return "503 without Retry-After"
        if path == "/health" and body.get("status") == "degraded":
            return None
        if body.get("type") not in DOCUMENTED_503:
            return f"503 of an undocumented kind: {text[:200]}"
    if not {"error", "type"} <= set(body):
        return f"{status} without error and type: {text[:200]}"
    return None


def _json(text: str) -> dict[str, Any]:
    try:
        body = json.loads(text)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
