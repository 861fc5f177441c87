"""Listeners and their plays: one user lookup, users created once under concurrency, out-of-range plays refused."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from soundalike.ingest.db.models import ListeningEvent, Track, User
from soundalike.ingest.errors import InputError, NotFoundError
from soundalike.ingest.history import parse_ms, parse_time
from soundalike.ingest.listening import (
    MAX_MS_PLAYED,
    check_ms_played,
    check_played_at,
    erase_user,
    get_or_create_user,
    get_user,
    record_events,
)

PLAYED = datetime(2025, 3, 1, 12, tzinfo=UTC)


def add_tracks(factory: sessionmaker[Session], count: int) -> list[int]:
    with factory() as session:
        tracks = [Track(path=f"/music/{n}.wav", size=1, mtime=0.0, status="ok") for n in range(count)]
        session.add_all(tracks)
        session.commit()
        return [t.id for t in tracks]


def counts(factory: sessionmaker[Session]) -> tuple[int, int]:
    with factory() as session:
        users = session.scalar(select(func.count()).select_from(User))
        events = session.scalar(select(func.count()).select_from(ListeningEvent))
    return int(users or 0), int(events or 0)


@pytest.mark.both_engines
def test_a_first_post_for_a_user_another_request_is_creating_waits_and_shares_the_user(
    factory: sessionmaker[Session],
) -> None:
    first_track, second_track = add_tracks(factory, 2)
    outcome: dict[str, object] = {}

    def second_post() -> None:
        try:
            with factory() as session:
                outcome["stored"] = record_events(session, "newcomer", [(second_track, PLAYED, None, False)])
                session.commit()
        except Exception as exc:  # the thread's failure is what the test reports
            outcome["error"] = exc

    with factory() as first:
        assert record_events(first, "newcomer", [(first_track, PLAYED, None, False)])["imported"] == 1
        racer = threading.Thread(target=second_post)
        racer.start()
        racer.join(0.5)
        assert racer.is_alive(), outcome
        first.commit()
    racer.join(30)
    assert not racer.is_alive() and "error" not in outcome, outcome
    assert outcome["stored"] == {"imported": 1, "duplicates": 0}
    assert counts(factory) == (1, 2)


@pytest.mark.both_engines
def test_many_first_posts_for_one_new_user_at_once_all_succeed(factory: sessionmaker[Session]) -> None:
    tracks = add_tracks(factory, 8)
    start = threading.Barrier(len(tracks))
    errors: list[Exception] = []

    def post(track_id: int) -> None:
        try:
            with factory() as session:
                start.wait()
                record_events(session, "crowd", [(track_id, PLAYED, 1000, False)])
                session.commit()
        except Exception as exc:  # the thread's failure is what the test reports
            errors.append(exc)

    threads = [threading.Thread(target=post, args=(t,)) for t in tracks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert counts(factory) == (1, len(tracks))


def test_every_lookup_trims_and_checks_the_name_the_same_way(session: Session) -> None:
    made = get_or_create_user(session, "  ann ")
    assert made.name == "ann"
    assert get_user(session, "ann\t").id == get_or_create_user(session, " ann").id == made.id
    with pytest.raises(InputError, match="non-printable"):
        get_user(session, "an\x01n")
    with pytest.raises(NotFoundError, match="no user named 'bob'"):
        get_user(session, "bob")
    assert erase_user(session, " ann ") == 0
    with pytest.raises(NotFoundError):
        get_user(session, "ann")


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_play_time_with_no_utc_equivalent_is_an_input_error(text: str) -> None:
    with pytest.raises(InputError, match=f"played_at {text[:4]}.* is out of range in UTC"):
        check_played_at(datetime.fromisoformat(text))


@pytest.mark.parametrize("value", [1e308, -1e308, 10**400, float("nan"), float("inf")])
def test_unix_seconds_outside_the_calendar_are_an_input_error(value: float) -> None:
    with pytest.raises(InputError, match="out of range as Unix seconds"):
        parse_time(value)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1" * 39, "outside 0..2147483647"),
        (10**38, "outside 0..2147483647"),
        ("-5", "outside 0..2147483647"),
        ("1e400", "not a number of milliseconds"),
        (float("nan"), "not a number of milliseconds"),
    ],
)
def test_absurd_milliseconds_are_an_input_error(value: object, reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        parse_ms(value)
    assert parse_ms(str(MAX_MS_PLAYED)) == check_ms_played(MAX_MS_PLAYED) == MAX_MS_PLAYED


def test_a_post_with_one_bad_play_names_it_and_stores_nothing(factory: sessionmaker[Session]) -> None:
    (track,) = add_tracks(factory, 1)
    bad = datetime.fromisoformat("0001-01-01T00:00:00+01:00")
    with factory() as session:
        with pytest.raises(InputError, match="^event 2: played_at 0001-01-01"):
            record_events(session, "dora", [(track, PLAYED, None, False), (track, bad, None, False)])
        with pytest.raises(InputError, match="^event 1: ms_played"):
            record_events(session, "dora", [(track, PLAYED, MAX_MS_PLAYED + 1, False)])
        session.commit()
    assert counts(factory) == (0, 0)
