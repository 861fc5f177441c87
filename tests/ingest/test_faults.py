from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
import torch
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from soundalike.ingest.analysis import FileAnalysis
from soundalike.ingest.db.models import Feature, IngestRun, Track
from soundalike.ingest.engine import analyse_bounded, local_engine
from soundalike.ingest.paths import from_db_path, to_db_path
from soundalike.ingest.pipeline import IngestOptions, ingest
from soundalike.ingest.settings import Settings
from soundalike.ingest.track_features import FEATURE_VERSIONS

from support.fault_corpus import BAD, GOOD, LOCKED, LONG_SECONDS, make_fault_corpus
from support.processes import alive

CPU = torch.device("cpu")

RUNNING_AS_ROOT = os.geteuid() == 0


@pytest.fixture
def fault_corpus(library: Path, tmp_path: Path) -> Path:
    """Good files of odd shapes beside files that cannot be ingested, one of them unreadable."""
    root = make_fault_corpus(library, tmp_path / "faults")
    yield root
    (root / LOCKED).chmod(0o644)


@pytest.mark.slow
@pytest.mark.parametrize("extractor", ["librosa", "torch"])
def test_fault_corpus_records_each_bad_file_with_a_reason_and_ingests_the_good_ones(
    fault_corpus: Path, settings: Settings, factory: sessionmaker[Session], extractor: str
) -> None:
    """Both feature paths (librosa in the workers, torch batched in the ingesting process) see the same faults."""
    settings = settings.model_copy(update={"feature_extractor": extractor})
    report = ingest(factory, [fault_corpus], IngestOptions(settings=settings, device=CPU, workers=2))
    reasons = {Path(f["path"]).name: f["reason"] for f in report.failures}
    locked_readable = RUNNING_AS_ROOT  # root reads files whatever their mode
    expected_bad = BAD if locked_readable else BAD | {LOCKED}
    assert set(reasons) == expected_bad
    assert all(reason.strip() for reason in reasons.values())
    assert reasons["empty.wav"] == "empty file (0 bytes)"
    assert reasons["folder.mp3"] == "is a directory"
    assert "silent" in reasons["silent.wav"]
    if not locked_readable:
        assert "Permission denied" in reasons[LOCKED]
    assert report.added == len(GOOD) + (1 if locked_readable else 0)
    assert report.failed == len(expected_bad)
    with factory() as session:
        tracks = {Path(t.path).name: t for t in session.scalars(select(Track))}
        assert set(tracks) == GOOD | BAD | {LOCKED}
        for name in expected_bad:
            assert tracks[name].status == "failed" and tracks[name].error == reasons[name]
        for name in GOOD:
            assert tracks[name].status == "ok", (name, tracks[name].error)
        assert tracks["rate8k.wav"].sample_rate == 8000
        assert tracks["rate96k.wav"].sample_rate == 96000
        assert tracks["surround.wav"].channels == 6
        assert tracks["long.wav"].duration == pytest.approx(LONG_SECONDS, abs=0.01)
        with_features = session.scalar(
            select(func.count()).select_from(Feature).join(Track).where(Track.status == "ok")
        )
        assert with_features == report.added * len(FEATURE_VERSIONS)
        run = session.get(IngestRun, report.run_id)
        assert run is not None and run.status == "finished" and run.failed == len(expected_bad)


@pytest.mark.slow
def test_rerun_over_fault_corpus_retries_nothing_unchanged(
    fault_corpus: Path, settings: Settings, factory: sessionmaker[Session]
) -> None:
    first = ingest(factory, [fault_corpus], IngestOptions(settings=settings, device=CPU, workers=1))
    again = ingest(factory, [fault_corpus], IngestOptions(settings=settings, device=CPU, workers=1))
    assert (again.added, again.updated, again.failed) == (0, 0, 0)
    assert again.skipped == first.added + first.failed


def crash_on_poison(path: Path) -> FileAnalysis:
    """A stand-in decoder that kills its process on one file, as a native decoder crash would."""
    if path.name == "poison.wav":
        os._exit(3)
    return FileAnalysis(path, 1, 0.0)


def test_a_decoder_process_crash_fails_only_that_file(tmp_path: Path) -> None:
    paths = [tmp_path / f"{n:02d}.wav" for n in range(9)]
    paths[4] = tmp_path / "poison.wav"
    results = list(analyse_bounded(paths, crash_on_poison, workers=2, in_flight=4))
    assert [r.path for r in results] == paths
    assert [r.path.name for r in results if r.error] == ["poison.wav"]
    assert "crashed" in str(results[4].error)


def test_analysis_keeps_a_bounded_number_of_files_in_flight(tmp_path: Path) -> None:
    pulled = 0

    def source() -> object:
        nonlocal pulled
        for n in range(40):
            pulled += 1
            yield tmp_path / f"{n}.wav"

    seen = 0
    for result in analyse_bounded(source(), str, workers=2, in_flight=5):  # type: ignore[arg-type]
        seen += 1
        assert pulled - seen <= 5
        assert result == str(tmp_path / f"{seen - 1}.wav")
    assert seen == 40


def test_stored_path_of_a_non_utf8_name_round_trips(tmp_path: Path) -> None:
    name = os.fsdecode(b"caf\xe9 \xff.wav")
    text = to_db_path(tmp_path / name)
    text.encode("utf-8")
    assert from_db_path(text) == tmp_path / name
    assert to_db_path(tmp_path / "plain é.wav") == str(tmp_path / "plain é.wav")


def test_a_failed_file_whose_name_is_not_utf8_is_reported_readably_with_its_exact_bytes(
    tmp_path: Path, settings: Settings, factory: sessionmaker[Session]
) -> None:
    folder = tmp_path / "odd"
    folder.mkdir()
    name = os.fsdecode(b"caf\xe9.mp3")
    (folder / name).write_text("not audio")
    failure = ingest(factory, [folder], IngestOptions(settings=settings, device=CPU, workers=1)).as_dict()["failures"][
        0
    ]
    assert failure["path"].endswith("caf\ufffd.mp3") and failure["path"].isprintable()
    assert base64.b64decode(failure["path_bytes"]) == os.fsencode(folder / name)


def test_an_engine_started_ahead_analyses_with_its_warm_workers_and_stops_them(
    library: Path, settings: Settings
) -> None:
    paths = sorted(p for p in library.rglob("*") if p.suffix in {".wav", ".flac", ".ogg", ".mp3"})[:4]
    with local_engine(2, settings) as engine:
        assert engine.pool is not None
        workers = set(engine.pool._processes)  # noqa: SLF001 - the test checks the processes stop
        assert len(workers) == 2
        analyses = list(engine.analyses(paths, settings=settings, device=CPU, front_end=None, make_encoder=None))
    assert [a.path for a in analyses] == paths
    assert all(a.error is None and a.features is not None for a in analyses)
    assert not any(alive(pid) for pid in workers)
