"""User-supplied CSV and JSON lines: encodings handled or refused whole, header checked once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from soundalike.ingest.db.models import User
from soundalike.ingest.errors import InputError
from soundalike.ingest.history import HISTORY_COLUMNS, import_history
from soundalike.ingest.listening import check_played_at
from soundalike.ingest.rows import read_rows

CSV = "user,track,played_at\nann,1,2025-01-01T10:00:00Z\nbjörk,2,2025-01-02T10:00:00Z\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
def test_utf8_with_or_without_bom_and_utf16_give_the_same_rows(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "plays.csv"
    path.write_text(CSV, encoding=encoding)
    rows = [row for _, row in read_rows(path, required=HISTORY_COLUMNS)]
    assert rows == [
        {"user": "ann", "track": "1", "played_at": "2025-01-01T10:00:00Z"},
        {"user": "björk", "track": "2", "played_at": "2025-01-02T10:00:00Z"},
    ]


def test_latin1_is_refused_as_a_whole_naming_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "plays.csv"
    path.write_bytes(CSV.encode("latin-1"))
    with pytest.raises(InputError, match=r"not UTF-8 text \(byte 0xf6 at offset"):
        list(read_rows(path))


def test_a_binary_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plays.csv"
    path.write_bytes(b"user,track\x00\x00\x01\x02played_at\n")
    with pytest.raises(InputError, match="binary"):
        list(read_rows(path))


def test_a_missing_column_is_reported_once_for_the_file(tmp_path: Path) -> None:
    path = tmp_path / "plays.csv"
    path.write_text("user,played_at\nann,2025-01-01\nbob,2025-01-02\n")
    with pytest.raises(
        InputError, match=r"lacks the column\(s\) track or artist\+title; its header is user, played_at"
    ):
        list(read_rows(path, required=HISTORY_COLUMNS))
    path.write_text("user,artist,title,played_at\n")
    assert list(read_rows(path, required=HISTORY_COLUMNS)) == []


def test_a_history_file_without_a_good_row_is_refused_naming_the_first_reasons_and_creates_no_user(
    tmp_path: Path, session: Session
) -> None:
    path = tmp_path / "plays.csv"
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    rows = ["ghost,99999,2025-01-01T10:00:00Z", f"ghost2,1,{future}", "bad\x01name,1,x", "ghost3,2,y", "ghost4,3,z"]
    path.write_text("user,track,played_at\n" + "\n".join(rows) + "\n")
    with pytest.raises(
        InputError,
        match=r"no row of .*plays.csv could be imported \(line 2: unknown track '99999'; "
        r"line 3: .*; line 4: .*non-printable.*; 2 more\)",
    ):
        import_history(session, path)
    assert session.scalar(select(func.count()).select_from(User)) == 0


def test_a_play_in_the_future_beyond_the_clock_skew_is_refused() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert check_played_at(now + timedelta(minutes=4), now=now) == now + timedelta(minutes=4)
    assert check_played_at(datetime(2025, 1, 1), now=now).tzinfo is UTC
    with pytest.raises(InputError, match="in the future"):
        check_played_at(now + timedelta(minutes=6), now=now)
