"""Renaming, merging and deleting genres: the preview matches what the change then does."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from soundalike.embed.genre_edit import apply_genre_change, plan_genre_change
from soundalike.embed.review import genre_history, review_genre
from soundalike.ingest.db.models import Genre, Track, TrackGenre
from soundalike.ingest.errors import InputError, NotFoundError
from soundalike.ingest.repository import set_track_genre


@pytest.fixture
def tracks(session: Session) -> list[int]:
    """Three tracks: 1 tagged rock and rok, 2 tagged rok with a curator's rok, 3 predicted rok."""
    session.add_all(Track(id=i, path=f"/m/{i}.flac", size=1, mtime=0.0, status="ok") for i in (1, 2, 3))
    session.flush()
    set_track_genre(session, 1, "rock", source="tag")
    set_track_genre(session, 1, "rok", source="tag")
    set_track_genre(session, 2, "rok", source="tag")
    review_genre(session, 2, "rok", accept=True)
    set_track_genre(session, 3, "rok", source="predicted", confidence=0.4, model_version="1")
    return [1, 2, 3]


def rows(session: Session) -> set[tuple[int, str, str]]:
    """(track, genre, source) of every genre row."""
    found = session.execute(
        select(TrackGenre.track_id, Genre.name, TrackGenre.source).join(Genre, Genre.id == TrackGenre.genre_id)
    )
    return {(int(t), str(g), str(s)) for t, g, s in found}


def test_a_merge_folds_rows_the_target_already_has_and_moves_the_rest(session: Session, tracks: list[int]) -> None:
    preview = plan_genre_change(session, "rok", "rock")
    assert preview.merge and preview.tracks == 3 and preview.folded == 1
    assert preview.rows == {"tag": 2, "curator": 1, "predicted": 1}
    assert rows(session) >= {(1, "rok", "tag")}  # nothing changed yet
    change, touched = apply_genre_change(session, "rok", "rock")
    assert change == preview and touched == tracks
    assert rows(session) == {(1, "rock", "tag"), (2, "rock", "tag"), (2, "rock", "curator"), (3, "rock", "predicted")}
    assert [d.genre for d in genre_history(session, 2)] == ["rock"]


def test_a_rename_keeps_the_rows_and_a_delete_drops_them(session: Session, tracks: list[int]) -> None:
    assert not plan_genre_change(session, "rok", "Rock and Roll").merge
    apply_genre_change(session, "rok", "Rock and Roll")
    assert {(t, s) for t, g, s in rows(session) if g == "Rock and Roll"} == {
        (1, "tag"),
        (2, "tag"),
        (2, "curator"),
        (3, "predicted"),
    }
    change, _ = apply_genre_change(session, "Rock and Roll", None)
    assert "deletes 'Rock and Roll' from 3 tracks" in change.summary
    assert rows(session) == {(1, "rock", "tag")} and genre_history(session, 2) == []


def test_unknown_and_unchanged_genres_are_refused(session: Session, tracks: list[int]) -> None:
    with pytest.raises(NotFoundError):
        plan_genre_change(session, "polka", None)
    with pytest.raises(InputError):
        plan_genre_change(session, "rock", "rock")
