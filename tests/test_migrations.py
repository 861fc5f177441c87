from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from soundalike.embed.musicnn_encoder import MODEL_VERSION
from soundalike.ingest.db.models import Base, Feature
from soundalike.ingest.db.session import make_engine, upgrade

pytestmark = [pytest.mark.both_engines, pytest.mark.unmigrated]


def test_upgrade_on_empty_database_gives_the_models_schema(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
        tables = set(inspect(connection).get_table_names())
    assert diff == []
    assert set(Base.metadata.tables) <= tables
    engine.dispose()


def test_upgrade_twice_is_a_no_op(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    upgrade(engine)
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == "0012_spelled_out_paths"
    engine.dispose()


def test_features_stored_before_the_wider_version_column_survive_it_and_a_students_version_fits(db_url: str) -> None:
    """0011 widens ``features.version`` (a student's MusiCNN version is 39 characters, longer with ``-pN``);
    PostgreSQL refused such a row before it, and the rows already there are kept."""
    engine = make_engine(db_url)
    upgrade(engine, "0010_genre_decisions")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO tracks (path, size, mtime, status, created_at, updated_at) "
                "VALUES ('/m/a.flac', 1, 0, 'ok', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        connection.execute(
            text("INSERT INTO features (track_id, name, version, dim, vector) VALUES (1, 'mfcc', '1', 1, :v)"),
            {"v": b"\0\0\0\0"},
        )
    upgrade(engine)
    student_version = f"{MODEL_VERSION}-student-w24-{'f' * 8}-p16"
    with Session(engine) as session:
        session.add(Feature(track_id=1, name="musicnn_pooled", version=student_version, dim=1, vector=b"\0\0\0\0"))
        session.commit()
        stored = {(f.name, f.version) for f in session.scalars(select(Feature))}
    assert stored == {("mfcc", "1"), ("musicnn_pooled", student_version)}
    engine.dispose()


def test_paths_stored_with_dot_steps_are_spelled_out_unless_the_spelled_out_path_is_taken(db_url: str) -> None:
    """0012: ingest now spells out ``..`` in the folders it is given; rows stored before it follow, except one
    whose folder was also ingested under the plain name (that row stays, its twin is its duplicate)."""
    engine = make_engine(db_url)
    upgrade(engine, "0011_feature_version_width")
    stored = ["/m/x/../a.flac", "/m/./b.flac", "/m/y/../c.flac", "/m/c.flac", "/m/d..e.flac"]
    with engine.begin() as connection:
        for path in stored:
            connection.execute(
                text(
                    "INSERT INTO tracks (path, size, mtime, status, created_at, updated_at) "
                    "VALUES (:path, 1, 0, 'ok', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"path": path},
            )
    upgrade(engine)
    with engine.connect() as connection:
        paths = list(connection.execute(text("SELECT path FROM tracks ORDER BY id")).scalars())
    assert paths == ["/m/a.flac", "/m/b.flac", "/m/y/../c.flac", "/m/c.flac", "/m/d..e.flac"]
    engine.dispose()
