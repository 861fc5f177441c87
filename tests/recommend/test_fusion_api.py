"""The API over a fusion catalogue of real ingested audio: every reason says which aspects matched."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import torch
from sqlalchemy import select

from soundalike.embed.ingest_consumer import consumer_for
from soundalike.embed.models import embedding_model
from soundalike.index.backends import CpuBackend
from soundalike.index.sync import build_from_database
from soundalike.ingest.db.models import Track
from soundalike.ingest.db.session import open_database, session_scope
from soundalike.ingest.pipeline import IngestOptions, ingest
from soundalike.ingest.settings import Settings
from soundalike.recommend.api.app import create_app
from soundalike.recommend.service import Service

from support.servers import in_process

CPU = torch.device("cpu")
ASPECTS = {"style", "timbre", "harmony", "rhythm"}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fusion_api(
    library: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Callable[..., httpx.Response], dict[str, int]]]:
    home = tmp_path_factory.mktemp("fusion-home")
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'fusion.db'}", embedding_model="fusion")
    factory = open_database(settings.db_url)
    ingest(
        factory,
        [library],
        IngestOptions(settings=settings, device=CPU, workers=1, consumer=consumer_for(settings, CPU)),
    )
    with session_scope(factory) as session:
        build_from_database(session, settings, embedding_model(settings, CPU), backend=CpuBackend())
        names = {Path(p).name: tid for tid, p in session.execute(select(Track.id, Track.path))}
    service = Service.open(settings, factory, device=CPU)
    app = create_app(settings, service=service)
    app.state.service = service  # in process there is no lifespan to set it
    yield in_process(app), names
    service.close()


def assert_explained(result: dict[str, object]) -> None:
    why = result["why"]
    assert isinstance(why, dict)
    aspects = why["aspects"]
    assert {a["aspect"] for a in aspects} == ASPECTS
    scores = [a["score"] for a in aspects]
    assert scores == sorted(scores, reverse=True)
    assert sum(scores) == pytest.approx(why["similarity"], abs=1e-4)
    if scores[0] > 0:
        assert f"mostly {aspects[0]['aspect']}" in why["text"]


def test_similar_tracks_carry_aspects_that_sum_to_their_similarity(
    fusion_api: tuple[Callable[..., httpx.Response], dict[str, int]],
) -> None:
    request, names = fusion_api
    drone = names["drone_02.flac"]
    results = request("GET", f"/tracks/{drone}/similar", params={"k": 4}).json()["results"]
    assert len(results) == 4
    for result in results:
        assert_explained(result)
    seeds = {"seed": [drone, names["beat_03.flac"]], "k": 4}
    for result in request("GET", "/similar", params=seeds).json()["results"]:
        assert_explained(result)


def test_a_path_explains_each_step_against_its_start(
    fusion_api: tuple[Callable[..., httpx.Response], dict[str, int]],
) -> None:
    request, names = fusion_api
    params = {"start": names["drone_00.wav"], "end": names["beat_01.wav"], "steps": 4}
    results = request("GET", "/path", params=params).json()["results"]
    assert len(results) >= 2
    for result in results:
        aspects = result["why"]["aspects"]
        assert sum(a["score"] for a in aspects) == pytest.approx(result["score"], abs=1e-4)
