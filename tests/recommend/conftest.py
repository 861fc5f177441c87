"""Recommendation fixtures: a synthetic catalogue with known styles, indexed for real."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from recommend_fixtures import Catalogue, make_catalogue  # noqa: E402

from soundalike.ingest.settings import Settings  # noqa: E402


@pytest.fixture
def catalogue(tmp_path: Path, db_url: str) -> Catalogue:
    """The synthetic catalogue on each database."""
    home = tmp_path / "home"
    home.mkdir()
    return make_catalogue(Settings(home=home, database_url=db_url, embedding_model="mfcc-stats"))
