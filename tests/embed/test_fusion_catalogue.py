"""The fusion model over a real ingested catalogue: stored blocks, features filled in, files described alike."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from soundalike.embed.fusion import layout_of
from soundalike.embed.fusion_features import MTT_FEATURE
from soundalike.embed.ingest_consumer import consumer_for
from soundalike.embed.models import embedding_model
from soundalike.embed.musicnn_encoder import POOLED_FEATURE
from soundalike.embed.store import load_embeddings
from soundalike.ingest.db.models import Embedding, Feature, Track
from soundalike.ingest.paths import from_db_path
from soundalike.ingest.pipeline import IngestOptions, ingest
from soundalike.ingest.repository import feature_matrix
from soundalike.ingest.settings import Settings
from soundalike.ingest.track_features import CHROMA_STATS_NAME

CPU = torch.device("cpu")
BLOCKS = "musicnn:1:whiten8,penultimate:0.5,mtt:0.25,mfcc:0.5,chroma:0.25,rhythm:0.1"


@pytest.fixture
def fusion_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"embedding_model": "fusion", "fusion_blocks": BLOCKS})


@pytest.mark.slow
def test_fusion_catalogue_embeds_from_stored_features_fills_gaps_and_describes_a_file_alike(
    library: Path, fusion_settings: Settings, factory: sessionmaker[Session]
) -> None:
    consumer = consumer_for(fusion_settings, CPU)
    assert consumer is not None
    ingest(factory, [library], IngestOptions(settings=fusion_settings, device=CPU, workers=1, consumer=consumer))
    model = embedding_model(fusion_settings, CPU)
    with factory() as session:
        assert len(feature_matrix(session, POOLED_FEATURE)[0]) == 12
        assert len(feature_matrix(session, MTT_FEATURE)[0]) == 0
        chroma_ids, chroma = feature_matrix(session, CHROMA_STATS_NAME)
        session.execute(delete(Feature).where(Feature.name == CHROMA_STATS_NAME, Feature.track_id.in_(chroma_ids[:4])))
        count, version = model.refresh(session)
        session.commit()
        assert count == 12
        layout = layout_of("fusion", version)
        assert layout is not None and [name for name, _ in layout.blocks] == [
            "musicnn",
            "penultimate",
            "mtt",
            "mfcc",
            "chroma",
            "rhythm",
        ]
        assert dict(layout.blocks)["musicnn"] == 8
        assert len(feature_matrix(session, MTT_FEATURE)[0]) == 12
        refilled_ids, refilled = feature_matrix(session, CHROMA_STATS_NAME)
        np.testing.assert_array_equal(refilled_ids, chroma_ids)
        np.testing.assert_allclose(refilled, chroma, rtol=1e-5, atol=1e-6)
        ids, vectors, stored_version = load_embeddings(session, "fusion")
        assert stored_version == version and vectors.shape == (12, layout.dim)
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        path = from_db_path(session.scalar(select(Track.path).where(Track.id == int(ids[0]))))
    assert float(model.embed_file(path) @ vectors[0]) > 0.999
    excerpts = model.embed_excerpts(path, 2)
    assert excerpts.shape == (2, layout.dim)
    np.testing.assert_allclose(np.linalg.norm(excerpts, axis=1), 1.0, atol=1e-5)


def test_changed_weights_give_a_new_version_and_rewrite_every_embedding(
    library: Path, settings: Settings, factory: sessionmaker[Session]
) -> None:
    ingest(factory, [library], IngestOptions(settings=settings, device=CPU, workers=1))
    light = settings.model_copy(update={"embedding_model": "fusion", "fusion_blocks": "mfcc:1,chroma:0.5,rhythm:0.2"})
    assert consumer_for(light, CPU) is None
    heavier = light.model_copy(update={"fusion_blocks": "mfcc:1,chroma:1,rhythm:0.2"})
    with factory() as session:
        _, first = embedding_model(light, CPU).refresh(session)
        _, second = embedding_model(heavier, CPU).refresh(session)
        session.commit()
        assert first != second
        stored = session.scalars(select(Embedding.model_version).where(Embedding.model_name == "fusion")).all()
        assert len(stored) == 12 and set(stored) == {second}


def test_a_few_new_tracks_are_embedded_with_the_kept_fit_and_a_grown_catalogue_is_refitted(
    library: Path, settings: Settings, factory: sessionmaker[Session]
) -> None:
    ingest(factory, [library], IngestOptions(settings=settings, device=CPU, workers=1))
    light = settings.model_copy(update={"embedding_model": "fusion", "fusion_blocks": "mfcc:1,chroma:0.5,rhythm:0.2"})
    model = embedding_model(light, CPU)
    with factory() as session:
        written, first = model.refresh(session)
        session.commit()
        assert written == 12
        assert model.refresh(session) == (0, first)

        one = session.scalars(select(Track).order_by(Track.id).limit(1)).one()
        session.execute(delete(Embedding).where(Embedding.model_name == "fusion", Embedding.track_id == one.id))
        assert model.refresh(session) == (1, first)  # the fit is kept: one vector written, none rewritten

        removed = session.scalars(select(Track).order_by(Track.id).limit(3)).all()
        for track in removed:
            track.status = "failed"
        session.flush()
        written, refitted = model.refresh(session)  # 9 tracks against a fit on 12: beyond the 10 % tolerance
        assert refitted != first and written == 9
        stored = session.scalars(select(Embedding.model_version).where(Embedding.model_name == "fusion")).all()
        assert set(stored) == {refitted}
