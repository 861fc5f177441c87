from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from soundalike.demo.corpus import (
    GM_PROGRAM_POOL,
    STYLE_FAMILIES,
    CorpusManifest,
    CorpusPiece,
    build_corpus,
    find_soundfont,
    split_by_piece,
)
from soundalike.ingest.errors import ConfigError

PER_GENRE = 2
SECONDS = 4.0
SAMPLE_RATE = 16000


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> CorpusManifest:
    """A tiny corpus rendered with the real fluidsynth and the installed soundfont."""
    root = tmp_path_factory.mktemp("corpus")
    return build_corpus(root, per_genre=PER_GENRE, seconds=SECONDS, sample_rate=SAMPLE_RATE)


@pytest.mark.slow
def test_every_genre_gets_its_pieces_and_none_is_skipped(built: CorpusManifest) -> None:
    assert built.skipped == []
    counts = {genre: sum(p.genre == genre for p in built.pieces) for genre in STYLE_FAMILIES}
    assert counts == dict.fromkeys(STYLE_FAMILIES, PER_GENRE)
    assert len({p.piece for p in built.pieces}) == len(built.pieces)


@pytest.mark.slow
def test_files_decode_at_the_requested_rate_and_length_and_are_not_silent(built: CorpusManifest) -> None:
    for piece in built.pieces:
        samples, sr = sf.read(piece.path, dtype="float32")
        assert sr == SAMPLE_RATE
        assert samples.ndim == 1
        assert abs(samples.size - SECONDS * SAMPLE_RATE) <= 0.01 * SAMPLE_RATE
        assert float(np.sqrt(np.mean(samples**2))) > 1e-2, piece.piece
        assert float(np.max(np.abs(samples))) <= 1.0


@pytest.mark.slow
def test_labels_csv_lists_every_piece_with_a_path_relative_to_itself(built: CorpusManifest) -> None:
    with built.labels_path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [list(row) for row in rows[:1]] == [["path", "genre", "piece"]]
    assert sorted((r["path"], r["genre"], r["piece"]) for r in rows) == sorted(
        (p.path.relative_to(built.root).as_posix(), p.genre, p.piece) for p in built.pieces
    )
    assert all((built.labels_path.parent / row["path"]).is_file() for row in rows)


@pytest.mark.slow
def test_every_genre_draws_its_instruments_from_the_one_shared_pool(built: CorpusManifest) -> None:
    assert {p.program for p in built.pieces} <= set(GM_PROGRAM_POOL)
    assert len({p.program for p in built.pieces}) > 1
    for genre, family in STYLE_FAMILIES.items():
        low, high = family.tempo_range
        assert all(low <= p.tempo_bpm <= high for p in built.pieces if p.genre == genre)


@pytest.mark.slow
def test_rerun_renders_nothing_new(built: CorpusManifest, tmp_path: Path) -> None:
    root = tmp_path / "copy"
    shutil.copytree(built.root, root)
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*.ogg")}
    again = build_corpus(root, per_genre=PER_GENRE, seconds=SECONDS, sample_rate=SAMPLE_RATE)
    assert [p.rendered for p in again.pieces] == [False] * len(built.pieces)
    assert [p.piece for p in again.pieces] == [p.piece for p in built.pieces]
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*.ogg")} == before


@pytest.mark.slow
def test_a_larger_build_keeps_the_earlier_picks_and_renders_only_the_new_ones(
    built: CorpusManifest, tmp_path: Path
) -> None:
    root = tmp_path / "copy"
    shutil.copytree(built.root, root)
    larger = build_corpus(root, per_genre=PER_GENRE + 1, seconds=SECONDS, sample_rate=SAMPLE_RATE)
    reused = [p.piece for p in larger.pieces if not p.rendered]
    assert sorted(reused) == sorted(p.piece for p in built.pieces)
    assert sum(p.rendered for p in larger.pieces) == len(STYLE_FAMILIES)


def piece(genre: str, name: str, excerpt: int) -> CorpusPiece:
    return CorpusPiece(Path(f"/c/{genre}/{name}-{excerpt}.ogg"), genre, name, 0, 100.0, 0)


def test_split_never_puts_one_piece_on_both_sides() -> None:
    pieces = [piece(g, f"{g}{n}", e) for g in ("a", "b") for n in range(6) for e in range(3)]
    manifest = CorpusManifest(Path("/c"), 4.0, 16000, Path("/font.sf2"), 0, pieces)
    train, test = split_by_piece(manifest, test_fraction=0.33, seed=3)
    name = {p.path: p.piece for p in pieces}
    assert {name[p] for p in train}.isdisjoint(name[p] for p in test)
    assert sorted(train + test) == sorted(p.path for p in pieces)
    for genre in ("a", "b"):
        assert len({name[p] for p in test if name[p].startswith(genre)}) == 2
    assert split_by_piece(manifest, test_fraction=0.33, seed=3) == (train, test)


@pytest.mark.slow
def test_split_of_a_built_corpus_holds_out_every_genre(built: CorpusManifest) -> None:
    train, test = split_by_piece(built, test_fraction=0.5)
    genre = {p.path: p.genre for p in built.pieces}
    assert {genre[p] for p in train} == {genre[p] for p in test} == set(STYLE_FAMILIES)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.2])
def test_split_rejects_a_fraction_outside_zero_one(fraction: float) -> None:
    manifest = CorpusManifest(Path("/c"), 4.0, 16000, Path("/font.sf2"), 0)
    with pytest.raises(ConfigError, match=str(fraction)):
        split_by_piece(manifest, test_fraction=fraction)


@pytest.mark.parametrize(
    ("options", "named"),
    [({"per_genre": 0}, "per_genre"), ({"seconds": 600.0}, "600.0"), ({"sample_rate": 4000}, "4000")],
)
def test_build_rejects_unusable_settings(tmp_path: Path, options: dict[str, float], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        build_corpus(tmp_path, **options)


def test_a_missing_or_invalid_soundfont_is_a_config_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.sf2"
    with pytest.raises(ConfigError, match="nowhere.sf2"):
        build_corpus(tmp_path / "out", soundfont=missing)
    bogus = tmp_path / "bogus.sf2"
    bogus.write_bytes(b"not a soundfont at all")
    with pytest.raises(ConfigError, match="bogus.sf2"):
        build_corpus(tmp_path / "out", soundfont=bogus)


def test_find_soundfont_names_the_package_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("soundalike.demo.corpus.SOUNDFONT_CANDIDATES", ((tmp_path / "none.sf2", "fluid-soundfont-gm"),))
    with pytest.raises(ConfigError, match="apt-get install fluid-soundfont-gm"):
        find_soundfont()
