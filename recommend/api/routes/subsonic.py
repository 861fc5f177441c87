"""The OpenSubsonic ``sonicSimilarity`` extension (version 1) under ``/rest/``, with ``ping``, ``getLicense`` and the
instant mix of ``getSimilarSongs`` / ``getSimilarSongs2`` (https://opensubsonic.netlify.app/docs/endpoints/getsimilarsongs2/).

Spec: https://opensubsonic.netlify.app/docs/extensions/sonicsimilarity/ with the endpoints
https://opensubsonic.netlify.app/docs/endpoints/getsonicsimilartracks/ (``id``, ``count`` = 10) and
https://opensubsonic.netlify.app/docs/endpoints/findsonicpath/ (``startSongId``, ``endSongId``, ``count`` = 25),
both answering a ``subsonic-response`` with a top-level ``sonicMatch`` array of ``{entry: Child, similarity}``;
``similarity`` is normalised: 1.0 = the same song, 0.0 = the most different (we map cosine c to (1 + c) / 2).
The path begins with the start song and ends with the end song; its similarities are relative to the start.
Every endpoint answers GET and form-encoded POST, with and without the ``.view`` suffix. A song id may be ours,
a MusicBrainz recording id or a media server's path (see ``recommend.media_server``). Every endpoint but
``getOpenSubsonicExtensions`` (public, as the spec requires) checks the caller (``api.subsonic_auth``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from soundalike.ingest.errors import InputError, NotFoundError, SoundalikeError
from soundalike.recommend.api.deps import ServiceDep, SessionDep
from soundalike.recommend.api.subsonic_auth import Params, subsonic_caller
from soundalike.recommend.api.subsonic_envelope import GENERIC, MISSING_PARAMETER, NOT_FOUND, envelope, failure, render
from soundalike.recommend.browse import search_tracks
from soundalike.recommend.defaults import DEFAULTS
from soundalike.recommend.describe import described
from soundalike.recommend.filters import Filters
from soundalike.recommend.media_server import PathMap, SongFacts, resolve_song, song_facts
from soundalike.recommend.path import sonic_path
from soundalike.recommend.radio_sessions import instant_mix
from soundalike.recommend.results import Result, result_of
from soundalike.recommend.similar import Options, similar_to_track

router = APIRouter(prefix="/rest", tags=["opensubsonic"])
EXTENSIONS = [{"name": "sonicSimilarity", "versions": [1]}, {"name": "apiKeyAuthentication", "versions": [1]}]


def similarity(cosine: float) -> float:
    """Cosine similarity in [-1, 1] as the spec's normalised similarity in [0, 1] (1 = identical)."""
    return round(min(1.0, max(0.0, (1.0 + float(cosine)) / 2.0)), 6)


def child(result: Result, facts: SongFacts | None, path_map: PathMap) -> dict[str, Any]:
    """A Subsonic ``Child`` (song) of a result: ``id``, ``isDir`` and ``title`` always, the rest when known; the
    ``path`` is the media server's (``path_map``)."""
    entry: dict[str, Any] = {
        "id": str(result.track_id),
        "isDir": False,
        "title": result.title or Path(result.path).stem,
        "isVideo": False,
        "type": "music",
        "path": path_map.theirs(result.path),
        "suffix": Path(result.path).suffix.lstrip("."),
    }
    optional: dict[str, Any] = {"album": result.album, "artist": result.artist, "year": result.year}
    if result.genres:
        optional["genre"] = result.genres[0]
    if result.tempo is not None:
        optional["bpm"] = int(round(result.tempo))
    if facts is not None and facts.duration is not None:
        optional["duration"] = int(round(facts.duration))
    if facts is not None:
        optional["musicBrainzId"] = facts.musicbrainz_id
    entry.update({k: v for k, v in optional.items() if v is not None})
    return entry


def sonic_matches(session: Session, request: Request, results: list[Result]) -> dict[str, Any]:
    """The ``sonicMatch`` body of ranked results."""
    path_map: PathMap = request.app.state.subsonic_path_map
    facts = song_facts(session, [r.track_id for r in results])
    matches = [{"entry": child(r, facts.get(r.track_id), path_map), "similarity": similarity(r.score)} for r in results]
    return {"sonicMatch": matches}


def _required(params: Params, name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise LookupError(name)
    return value


def _count(params: Params, default: int, low: int, high: int, name: str = "count") -> int:
    raw = params.get(name) or str(default)
    try:
        value = int(raw)
    except ValueError as exc:
        raise InputError(f"parameter {name!r} must be an integer, got {raw!r}") from exc
    if not low <= value <= high:
        raise InputError(f"{name} must be within [{low}, {high}], got {value}")
    return value


def _song(session: Session, request: Request, params: Params, name: str) -> int:
    return resolve_song(session, _required(params, name), request.app.state.subsonic_path_map)


def answer(params: Params, compute: Callable[[], dict[str, Any]]) -> Response:
    """Run ``compute`` and wrap its body, turning known errors into Subsonic error codes."""
    try:
        return render(params, envelope("ok", compute()))
    except LookupError as exc:
        return failure(params, MISSING_PARAMETER, f"required parameter {exc.args[0]!r} is missing")
    except NotFoundError as exc:
        return failure(params, NOT_FOUND, str(exc))
    except SoundalikeError as exc:
        return failure(params, GENERIC, str(exc))


def ping(params: Params) -> Response:
    """``ping``: the server is up and the credentials are good."""
    return render(params, envelope("ok", {}))


def get_license(params: Params) -> Response:
    """``getLicense``: always valid (Soundalike is free software)."""
    return render(params, envelope("ok", {"license": {"valid": True}}))


def get_open_subsonic_extensions(params: Params) -> Response:
    """``getOpenSubsonicExtensions``: the extensions this server implements (public, no parameters)."""
    return render(params, envelope("ok", {"openSubsonicExtensions": EXTENSIONS}))


def _mood_options(params: Params) -> Options:
    """Similar-track options keeping the songs that carry every mood ``mood`` names (comma-separated)."""
    moods = [m for m in params.get("mood", "").split(",") if m.strip()]
    return Options(filters=Filters.build(moods=moods))


def get_sonic_similar_tracks(request: Request, params: Params, service: ServiceDep, session: SessionDep) -> Response:
    """``getSonicSimilarTracks``: up to ``count`` songs like song ``id``, most similar first; ``mood`` (a
    comma-separated list) keeps the songs that carry those moods."""

    def compute() -> dict[str, Any]:
        track_id = _song(session, request, params, "id")
        count = _count(params, 10, 1, DEFAULTS.max_results)
        results = similar_to_track(session, service.index, track_id, count, _mood_options(params))
        return sonic_matches(session, request, results)

    return answer(params, compute)


def search3(request: Request, params: Params, service: ServiceDep, session: SessionDep) -> Response:
    """``search3``: songs for ``query``: a query of mood words ("mellow guitar") ranks the songs by those moods
    (as ``GET /search?describe=``), any other query matches titles, artists, albums and paths; ``songCount``
    (default 20) and ``songOffset`` page through them; ``mood`` filters either way. No artists or albums."""

    def compute() -> dict[str, Any]:
        query = params.get("query", "").strip().strip('"')
        count = _count(params, 20, 0, DEFAULTS.max_results, "songCount")
        offset = _count(params, 0, 0, DEFAULTS.max_offset, "songOffset")
        options, table = _mood_options(params), service.index.table
        try:
            results = described(table, query, offset + count, options)[offset:] if count else []
        except InputError:
            _, page = search_tracks(table, query, options.filters, offset=offset, limit=max(count, 1))
            results = [result_of(f, 0.0) for f in page][:count]
        path_map: PathMap = request.app.state.subsonic_path_map
        facts = song_facts(session, [r.track_id for r in results])
        songs = [child(r, facts.get(r.track_id), path_map) for r in results]
        return {"searchResult3": {"artist": [], "album": [], "song": songs}}

    return answer(params, compute)


def similar_songs(key: str) -> Callable[[Request, Params, ServiceDep, SessionDep], Response]:
    """``getSimilarSongs`` / ``getSimilarSongs2`` (the instant mix): the first ``count`` (default 50) tracks a radio
    seeded with song ``id`` would play, as ``{key: {song: [Child]}}``; no session is stored."""

    def endpoint(request: Request, params: Params, service: ServiceDep, session: SessionDep) -> Response:
        def compute() -> dict[str, Any]:
            track_id = _song(session, request, params, "id")
            count = _count(params, 50, 1, DEFAULTS.max_results)
            results = instant_mix(session, service.index, track_id, count)
            path_map: PathMap = request.app.state.subsonic_path_map
            facts = song_facts(session, [r.track_id for r in results])
            return {key: {"song": [child(r, facts.get(r.track_id), path_map) for r in results]}}

        return answer(params, compute)

    endpoint.__name__ = f"get_{key}"
    return endpoint


def find_sonic_path(request: Request, params: Params, service: ServiceDep, session: SessionDep) -> Response:
    """``findSonicPath``: at most ``count`` songs from ``startSongId`` to ``endSongId`` (both included)."""

    def compute() -> dict[str, Any]:
        start = _song(session, request, params, "startSongId")
        end = _song(session, request, params, "endSongId")
        count = _count(params, 25, 2, DEFAULTS.max_path_steps)
        return sonic_matches(session, request, sonic_path(session, service.index, start, end, count))

    return answer(params, compute)


ROUTES: list[tuple[str, Callable[..., Response], bool]] = [
    ("ping", ping, True),
    ("getLicense", get_license, True),
    ("getOpenSubsonicExtensions", get_open_subsonic_extensions, False),
    ("getSonicSimilarTracks", get_sonic_similar_tracks, True),
    ("findSonicPath", find_sonic_path, True),
    ("getSimilarSongs", similar_songs("similarSongs"), True),
    ("getSimilarSongs2", similar_songs("similarSongs2"), True),
    ("search3", search3, True),
]
for _name, _endpoint, _checked in ROUTES:
    for _path in (f"/{_name}", f"/{_name}.view"):
        for _method in ("GET", "POST"):
            router.add_api_route(
                _path,
                _endpoint,
                methods=[_method],
                response_class=Response,
                dependencies=[Depends(subsonic_caller)] if _checked else [],
            )
