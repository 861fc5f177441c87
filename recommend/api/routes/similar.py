"""Similar-track routes: by one id, by several seeds, by an uploaded audio clip."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, UploadFile

from soundalike.recommend.api.deps import FiltersDep, Id, ServiceDep, SessionDep, TrackId
from soundalike.recommend.api.schemas import ResultsOut
from soundalike.recommend.defaults import DEFAULTS
from soundalike.recommend.similar import Options, similar_to_tracks, similar_to_vector

router = APIRouter(tags=["similar"])
CHUNK = 1 << 16

K = Annotated[int, Query(ge=1, le=DEFAULTS.max_results, description="How many results.")]
ArtistCap = Annotated[
    int | None, Query(ge=1, le=DEFAULTS.max_artist_cap, description="At most this many tracks per artist.")
]
Diversity = Annotated[float, Query(ge=0.0, le=1.0, description="MMR trade-off: 0 = pure similarity.")]


def get_options(
    filters: FiltersDep,
    artist_cap: ArtistCap = None,
    diversity: Diversity = DEFAULTS.similar_diversity,
) -> Options:
    """How results are shaped, from the query string: filters, artist cap and MMR diversity."""
    return Options(filters=filters, artist_cap=artist_cap, diversity=diversity)


OptionsDep = Annotated[Options, Depends(get_options)]


@router.get("/tracks/{track_id}/similar", response_model=ResultsOut)
def similar_by_id(
    track_id: TrackId,
    service: ServiceDep,
    session: SessionDep,
    options: OptionsDep,
    k: K = DEFAULTS.k,
) -> dict[str, object]:
    """Tracks that sound like this one (itself and its duplicates left out), each with the reason."""
    results = similar_to_tracks(session, service.index, [track_id], k, options)
    return {"results": [r.as_dict() for r in results]}


@router.get("/similar", response_model=ResultsOut)
def similar_by_seeds(
    service: ServiceDep,
    session: SessionDep,
    options: OptionsDep,
    seed: Annotated[list[Id], Query(min_length=1, max_length=DEFAULTS.max_seeds, description="Seed track ids.")],
    k: K = DEFAULTS.k,
) -> dict[str, object]:
    """Tracks close to all the seeds together, the seeds' neighbourhoods interleaved."""
    results = similar_to_tracks(session, service.index, seed, k, options)
    return {"results": [r.as_dict() for r in results]}


@router.post(
    "/similar/audio",
    response_model=ResultsOut,
    responses={413: {"description": "Upload too large"}, 422: {"description": "Not decodable audio"}},
)
def similar_by_audio(
    request: Request,
    file: UploadFile,
    service: ServiceDep,
    session: SessionDep,
    options: OptionsDep,
    k: K = DEFAULTS.k,
) -> dict[str, object]:
    """Query by example: catalogue tracks that sound like an uploaded clip (size-capped)."""
    limit: int = request.app.state.max_upload_bytes
    suffix = Path(file.filename or "clip").suffix[:10]
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / f"upload{suffix}"
        size = 0
        with target.open("wb") as out:
            while chunk := file.file.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise HTTPException(413, f"upload larger than {limit} bytes")
                out.write(chunk)
        vector = service.model.embed_file(target)
    results = similar_to_vector(session, service.index, vector, k, options)
    return {"results": [r.as_dict() for r in results]}
