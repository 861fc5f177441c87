"""The OpenSubsonic ``sonicSimilarity`` extension (version 1) under ``/rest/``.

Spec: https://opensubsonic.netlify.app/docs/extensions/sonicsimilarity/ with the endpoints
https://opensubsonic.netlify.app/docs/endpoints/getsonicsimilartracks/ (``id``, ``count`` = 10) and
https://opensubsonic.netlify.app/docs/endpoints/findsonicpath/ (``startSongId``, ``endSongId``, ``count`` = 25),
both answering a ``subsonic-response`` with a top-level ``sonicMatch`` array of ``{entry: Child, similarity}``;
``similarity`` is normalised: 1.0 = the same song, 0.0 = the most different (we map cosine c to (1 + c) / 2).
The path begins with the start song and ends with the end song; its similarities are relative to the start.
``getOpenSubsonicExtensions`` lists the extension. Every endpoint also answers with the ``.view`` suffix, in XML
by default and in JSON with ``f=json``. As in Subsonic, a failure is HTTP 200 with ``status="failed"`` and an
error code (10 = required parameter missing, 70 = data not found, 0 = other). Authentication parameters
(``u``, ``p``, ``t``, ``s``, ``v``, ``c``) are accepted and not checked.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from soundalike import __version__
from soundalike.ingest.errors import InputError, NotFoundError, SoundalikeError
from soundalike.recommend.api.deps import MAX_ID, ServiceDep, SessionDep
from soundalike.recommend.defaults import DEFAULTS
from soundalike.recommend.path import sonic_path
from soundalike.recommend.results import Result
from soundalike.recommend.similar import similar_to_track

router = APIRouter(prefix="/rest", tags=["opensubsonic"])
API_VERSION = "1.16.1"
SERVER_TYPE = "soundalike"
SERVER_VERSION = __version__
XMLNS = "http://subsonic.org/restapi"


def similarity(cosine: float) -> float:
    """Cosine similarity in [-1, 1] as the spec's normalised similarity in [0, 1] (1 = identical)."""
    return round(min(1.0, max(0.0, (1.0 + float(cosine)) / 2.0)), 6)


def child(result: Result) -> dict[str, Any]:
    """A Subsonic ``Child`` (song) of a result: ``id``, ``isDir`` and ``title`` always, the rest when known."""
    entry: dict[str, Any] = {
        "id": str(result.track_id),
        "isDir": False,
        "title": result.title or Path(result.path).stem,
        "isVideo": False,
        "type": "music",
        "path": result.path,
        "suffix": Path(result.path).suffix.lstrip("."),
    }
    optional = {"album": result.album, "artist": result.artist, "year": result.year}
    if result.genres:
        optional["genre"] = result.genres[0]
    if result.tempo is not None:
        optional["bpm"] = int(round(result.tempo))
    entry.update({k: v for k, v in optional.items() if v is not None})
    return entry


def envelope(status: str, body: dict[str, Any]) -> dict[str, Any]:
    """The ``subsonic-response`` wrapper."""
    return {
        "subsonic-response": {
            "status": status,
            "version": API_VERSION,
            "type": SERVER_TYPE,
            "serverVersion": SERVER_VERSION,
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


def render(request: Request, document: dict[str, Any]) -> Response:
    """JSON when ``f=json``, otherwise Subsonic XML (objects become elements, scalars attributes)."""
    if request.query_params.get("f") == "json":
        return JSONResponse(document)
    root = ET.Element("subsonic-response", {"xmlns": XMLNS})
    _to_xml(root, document["subsonic-response"])
    body = b'<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return Response(body, media_type="application/xml")


def failure(request: Request, code: int, message: str) -> Response:
    """A Subsonic error response."""
    return render(request, envelope("failed", {"error": {"code": code, "message": message}}))


def _int(request: Request, name: str, default: int | None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        if default is None:
            raise LookupError(name)
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise InputError(f"parameter {name!r} must be an integer, got {raw!r}") from exc
    if not -MAX_ID <= value <= MAX_ID:
        raise NotFoundError(f"no song with {name} {value}")
    return value


def answer(request: Request, compute: Callable[[], dict[str, Any]]) -> Response:
    """Run ``compute`` and wrap its body, turning known errors into Subsonic error codes."""
    try:
        return render(request, envelope("ok", compute()))
    except LookupError as exc:
        return failure(request, 10, f"required parameter {exc.args[0]!r} is missing")
    except NotFoundError as exc:
        return failure(request, 70, str(exc))
    except SoundalikeError as exc:
        return failure(request, 0, str(exc))


def _routes(name: str) -> list[str]:
    return [f"/{name}", f"/{name}.view"]


def get_sonic_similar_tracks(request: Request, service: ServiceDep, session: SessionDep) -> Response:
    """``getSonicSimilarTracks``: up to ``count`` songs like song ``id``, most similar first."""

    def compute() -> dict[str, Any]:
        track_id = _int(request, "id", None)
        count = _int(request, "count", 10)
        if not 1 <= count <= DEFAULTS.max_results:
            raise InputError(f"count must be within [1, {DEFAULTS.max_results}], got {count}")
        results = similar_to_track(session, service.index, track_id, count)
        return {"sonicMatch": [{"entry": child(r), "similarity": similarity(r.score)} for r in results]}

    return answer(request, compute)


def find_sonic_path(request: Request, service: ServiceDep, session: SessionDep) -> Response:
    """``findSonicPath``: at most ``count`` songs from ``startSongId`` to ``endSongId`` (both included)."""

    def compute() -> dict[str, Any]:
        start = _int(request, "startSongId", None)
        end = _int(request, "endSongId", None)
        count = _int(request, "count", 25)
        if not 2 <= count <= DEFAULTS.max_path_steps:
            raise InputError(f"count must be within [2, {DEFAULTS.max_path_steps}], got {count}")
        results = sonic_path(session, service.index, start, end, count)
        return {"sonicMatch": [{"entry": child(r), "similarity": similarity(r.score)} for r in results]}

    return answer(request, compute)


def get_open_subsonic_extensions(request: Request) -> Response:
    """``getOpenSubsonicExtensions``: the extensions this server implements (public, no parameters)."""
    return render(request, envelope("ok", {"openSubsonicExtensions": [{"name": "sonicSimilarity", "versions": [1]}]}))


for _path in _routes("getSonicSimilarTracks"):
    router.add_api_route(_path, get_sonic_similar_tracks, methods=["GET"], response_class=Response)
for _path in _routes("findSonicPath"):
    router.add_api_route(_path, find_sonic_path, methods=["GET"], response_class=Response)
for _path in _routes("getOpenSubsonicExtensions"):
    router.add_api_route(_path, get_open_subsonic_extensions, methods=["GET"], response_class=Response)
