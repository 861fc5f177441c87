"""Recommendation fixtures: a synthetic catalogue with known styles, indexed for real."""

from __future__ import annotations

from pathlib import Path

import pytest

from soundalike.ingest.settings import Settings

from support.recommend_fixtures import Catalogue, make_catalogue


@pytest.fixture
def catalogue(tmp_path: Path, db_url: str) -> Catalogue:
    """The synthetic catalogue on each database."""
    home = tmp_path / "home"
    home.mkdir()
    return make_catalogue(Settings(home=home, database_url=db_url, embedding_model="mfcc-stats"))
