"""The Subsonic ``subsonic-response`` envelope, in XML or JSON (``f=json``), and its error codes.

As the Subsonic API has it, a failure is still HTTP 200: ``status="failed"`` with an ``error`` of a code
(https://opensubsonic.netlify.app/docs/responses/error/) and a message.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from soundalike import __version__

API_VERSION = "1.16.1"
SERVER_TYPE = "soundalike"
XMLNS = "http://subsonic.org/restapi"

GENERIC = 0
MISSING_PARAMETER = 10
WRONG_CREDENTIALS = 40
UNSUPPORTED_AUTH = 42
CONFLICTING_AUTH = 43
INVALID_API_KEY = 44
NOT_FOUND = 70


class SubsonicError(Exception):
    """A request the Subsonic routes refuse: answered as a ``failed`` envelope with ``code``."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def envelope(status: str, body: dict[str, Any]) -> dict[str, Any]:
    """The ``subsonic-response`` wrapper."""
    return {
        "subsonic-response": {
            "status": status,
            "version": API_VERSION,
            "type": SERVER_TYPE,
            "serverVersion": __version__,
            "openSubsonic": True,
            **body,
        }
    }


def _xml_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _to_xml(parent: ET.Element, data: dict[str, Any]) -> None:
    for key, value in data.items():
        if isinstance(value, dict):
            _to_xml(ET.SubElement(parent, key), value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    _to_xml(ET.SubElement(parent, key), item)
                else:
                    ET.SubElement(parent, key).text = _xml_value(item)
        elif value is not None:
            parent.set(key, _xml_value(value))


def render(params: Mapping[str, str], document: dict[str, Any]) -> Response:
    """JSON when ``f=json``, otherwise Subsonic XML (objects become elements, scalars attributes)."""
    if params.get("f") == "json":
        return JSONResponse(document)
    root = ET.Element("subsonic-response", {"xmlns": XMLNS})
    _to_xml(root, document["subsonic-response"])
    body = b'<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return Response(body, media_type="application/xml")


def failure(params: Mapping[str, str], code: int, message: str) -> Response:
    """A Subsonic error response."""
    return render(params, envelope("failed", {"error": {"code": code, "message": message}}))


async def subsonic_error(request: Request, exc: Exception) -> Response:
    """The app's handler of ``SubsonicError``: the failed envelope, in the format the request asked for."""
    params = getattr(request.state, "subsonic_params", request.query_params)
    return failure(params, exc.code if isinstance(exc, SubsonicError) else GENERIC, str(exc))
