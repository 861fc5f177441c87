"""A file cut short with its header intact is stored with the duration that decoded, and marked truncated."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from soundalike.ingest.audio import decode
from soundalike.ingest.db.models import Track
from soundalike.ingest.pipeline import IngestOptions, ingest
from soundalike.ingest.settings import Settings

from support.audio_factory import make_track


def cut_in_half(source: Path, target: Path) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    return target


@pytest.mark.parametrize("suffix", [".flac", ".mp3"])
@pytest.mark.parametrize("seconds", [20.0, 200.0])
def test_truncated_file_decodes_to_what_is_there_and_keeps_the_headers_claim(
    tmp_path: Path, suffix: str, seconds: float
) -> None:
    whole = make_track(tmp_path / f"whole{suffix}", "drone", seed=3, seconds=seconds, sr=16000)
    half = cut_in_half(whole, tmp_path / f"half{suffix}")
    full = decode(whole)
    assert full.duration == pytest.approx(seconds, abs=0.1)
    assert full.header_duration is None and full.note is None
    cut = decode(half)
    assert 0.4 * seconds < cut.duration < 0.6 * seconds
    assert cut.header_duration == pytest.approx(seconds, abs=0.1)
    assert cut.note is not None and cut.note.startswith("truncated")
    assert len(cut.samples) <= cut.duration * cut.sample_rate + 1
    assert float(abs(cut.samples).max()) <= 1.0


def test_ingest_stores_the_decoded_duration_of_a_truncated_file_and_notes_it(
    tmp_path: Path, settings: Settings, factory: sessionmaker[Session]
) -> None:
    music = tmp_path / "music"
    whole = make_track(music / "whole.mp3", "beat", seed=4, seconds=20.0, sr=16000)
    cut_in_half(whole, music / "half.mp3")
    report = ingest(factory, [music], IngestOptions(settings=settings, device=torch.device("cpu"), workers=1))
    assert (report.added, report.failed) == (2, 0)
    with factory() as session:
        rows = {Path(t.path).name: t for t in session.scalars(select(Track))}
    assert rows["whole.mp3"].duration == pytest.approx(20.0, abs=0.1) and rows["whole.mp3"].note is None
    half = rows["half.mp3"]
    assert half.status == "ok" and 8.0 < half.duration < 12.0
    assert half.note is not None and "truncated" in half.note and "20.0 s" in half.note
