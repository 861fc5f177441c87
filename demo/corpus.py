"""A genre-labelled corpus of synthesised audio, rendered from the music21 corpus with fluidsynth.

Each genre is a family of pieces in music21's corpus. Every piece is re-scored for one General MIDI
program drawn from a pool shared by all genres (so a model cannot learn the instrument instead of the
genre), played at a tempo drawn from its family's range, transposed by a few semitones, looped until it
fills ``seconds``, rendered with fluidsynth and stored as Ogg Vorbis. The audio is a synthesised
stand-in for real recordings; results on it should be reported as such.
"""

from __future__ import annotations

import csv
import json
import math
import os
import random
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TextIO

import numpy as np
import soundfile as sf

from soundalike.ingest.audio import MIN_SAMPLE_RATE, MIN_SECONDS, SILENCE_RMS, WHOLE_TRACK_SECONDS, load
from soundalike.ingest.errors import ConfigError, DecodeError, InputError

try:
    from music21 import chord, common, corpus, harmony, instrument, note, stream, tempo
except ImportError as exc:  # music21 comes with the [demo] extra only
    raise ConfigError(
        "the demo corpus needs music21, which the demo extra installs: run `bash scripts/install.sh`, "
        'or `.venv/bin/python -m pip install -e ".[demo]"`'
    ) from exc

GM_PROGRAM_POOL: dict[int, str] = {
    0: "acoustic grand piano",
    6: "harpsichord",
    11: "vibraphone",
    19: "church organ",
    21: "accordion",
    24: "acoustic guitar (nylon)",
    48: "string ensemble 1",
    73: "flute",
}
"""General MIDI programs (0-based) every genre draws its instrument from, with their GM names."""

TRANSPOSE_SEMITONES = 3
"""Pieces are transposed by a whole number of semitones in ``[-3, 3]``."""

MAX_SECONDS = WHOLE_TRACK_SECONDS / 2
"""Longest excerpt: the rendered file (excerpt, loop margin, release tail) must stay one analysis window."""

MAX_SAMPLE_RATE = 96000
PEAK = 0.9
LOOP_MARGIN_QUARTERS = 4.0
RENDER_TIMEOUT_S = 120.0
LABELS_FILE = "labels.csv"
MANIFEST_FILE = "manifest.json"
SOUNDFONT_CANDIDATES: tuple[tuple[Path, str], ...] = (
    (Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"), "fluid-soundfont-gm"),
    (Path("/usr/share/sounds/sf2/default-GM.sf2"), "fluid-soundfont-gm"),
    (Path("/usr/share/sounds/sf3/MuseScore_General.sf3"), "musescore-general-soundfont-small"),
    (Path("/usr/share/sounds/sf2/MuseScore_General.sf2"), "musescore-general-soundfont"),
    (Path("/usr/share/sounds/sf3/default-GM.sf3"), "musescore-general-soundfont-small"),
    (Path("/usr/share/sounds/sf2/TimGM6mb.sf2"), "timgm6mb-soundfont"),
)


@dataclass(frozen=True)
class StyleFamily:
    """Where a genre's pieces lie in music21's corpus and how fast they are played.

    ``pattern`` must match the whole path relative to the corpus folder; ``tempo_range`` is in quarter
    notes per minute of the encoded note values; ``multi_tune`` marks ABC collections in which every
    ``X:`` tune is one piece.
    """

    pattern: str
    tempo_range: tuple[float, float]
    multi_tune: bool = False

    def sources(self) -> list[CorpusSource]:
        """Every piece of the family in the installed music21 corpus, in a stable order."""
        root = Path(common.getCorpusFilePath())
        regex = re.compile(self.pattern)
        found = []
        for path in sorted(corpus.getPaths()):
            relative = path.relative_to(root).as_posix()
            if not regex.fullmatch(relative):
                continue
            if not self.multi_tune:
                found.append(CorpusSource(path, relative, None))
                continue
            text = path.read_text(encoding="latin-1")
            numbers = sorted({int(n) for n in re.findall(r"^X:\s*(\d+)", text, flags=re.MULTILINE)})
            found.extend(CorpusSource(path, relative, number) for number in numbers)
        return found


@dataclass(frozen=True)
class CorpusSource:
    """One piece in music21's corpus: a file, and the tune number inside it for ABC collections."""

    path: Path
    relative: str
    number: int | None

    @property
    def piece_id(self) -> str:
        """Stable name of the piece, e.g. ``bach/bwv104.6`` or ``essenFolksong/erk10#57``."""
        stem = self.relative.rsplit(".", 1)[0]
        return stem if self.number is None else f"{stem}#{self.number}"


STYLE_FAMILIES: dict[str, StyleFamily] = {
    "baroque chorale": StyleFamily(r"bach/bwv([1-3]?\d{1,2}|4[0-3]\d)(\.\d+)?\.(mxl|xml)", (60.0, 92.0)),
    "renaissance polyphony": StyleFamily(r"palestrina/[^/]+\.krn", (112.0, 168.0)),
    "celtic dance": StyleFamily(r"ryansMammoth/[^/]+(Reel|Jig|Slipjig|Hornpipe)\.abc", (150.0, 210.0)),
    "german folk song": StyleFamily(
        r"essenFolksong/(altdeu|ballad|boehme|erk|fink|kinder|zuccal)\d*0\.abc", (84.0, 132.0), multi_tune=True
    ),
    "classical string quartet": StyleFamily(
        r"(haydn|mozart|beethoven)/(opus\d+no\d+|k\d+)/movement\d\.mxl", (76.0, 152.0)
    ),
}
"""Genre label -> the music21 corpus pieces that carry it."""


@dataclass(frozen=True)
class CorpusPiece:
    """One rendered excerpt and how it was played; ``rendered`` is False when an earlier file was reused."""

    path: Path
    genre: str
    piece: str
    program: int
    tempo_bpm: float
    transpose: int
    rendered: bool = True

    def record(self, root: Path) -> dict[str, object]:
        """JSON-ready form with ``path`` relative to the corpus folder and without ``rendered``."""
        data = asdict(self)
        data["path"] = self.path.relative_to(root).as_posix()
        del data["rendered"]
        return data


@dataclass(frozen=True)
class SkippedPiece:
    """A piece that could not be parsed or rendered, and why."""

    genre: str
    piece: str
    reason: str


@dataclass
class CorpusManifest:
    """What a build produced: the pieces (reused or rendered), the skipped ones and the build settings."""

    root: Path
    seconds: float
    sample_rate: int
    soundfont: Path
    seed: int
    pieces: list[CorpusPiece] = field(default_factory=list)
    skipped: list[SkippedPiece] = field(default_factory=list)

    @property
    def labels_path(self) -> Path:
        """The ``path,genre,piece`` CSV beside the audio."""
        return self.root / LABELS_FILE

    def settings(self) -> dict[str, object]:
        """The build settings that decide every file's audio besides its own piece record."""
        return {"seconds": self.seconds, "sample_rate": self.sample_rate, "soundfont": str(self.soundfont)}

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form, paths relative to ``root``."""
        return {
            **self.settings(),
            "seed": self.seed,
            "pieces": [piece.record(self.root) for piece in self.pieces],
            "skipped": [asdict(skip) for skip in self.skipped],
        }


def find_soundfont() -> Path:
    """The first General MIDI soundfont found in the standard Debian locations."""
    for path, _package in SOUNDFONT_CANDIDATES:
        if path.is_file():
            return path.resolve()
    looked = ", ".join(f"{path} ({package})" for path, package in SOUNDFONT_CANDIDATES)
    raise ConfigError(
        f"no General MIDI soundfont found; looked for {looked}. Install one, e.g. "
        "'apt-get install fluid-soundfont-gm', or pass soundfont="
    )


def build_corpus(
    out_dir: Path,
    *,
    per_genre: int = 12,
    seconds: float = 30.0,
    sample_rate: int = 22050,
    soundfont: Path | None = None,
    seed: int = 0,
    on_piece: Callable[[str], None] | None = None,
) -> CorpusManifest:
    """Render ``per_genre`` pieces of every style family into ``out_dir`` and write ``labels.csv``.

    Pieces are picked in a seeded order; a piece that fails is recorded in ``skipped`` and the next one
    is taken. A file whose piece record and build settings match the previous build's manifest is
    reused, not rendered again. ``on_piece`` receives ``<genre slug>/<file name>`` after each piece.
    """
    if per_genre < 1:
        raise ConfigError(f"per_genre must be at least 1, got {per_genre}")
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise ConfigError(f"seconds must lie in [{MIN_SECONDS}, {MAX_SECONDS}], got {seconds}")
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise ConfigError(f"sample_rate must lie in [{MIN_SAMPLE_RATE}, {MAX_SAMPLE_RATE}] Hz, got {sample_rate}")
    fluidsynth = shutil.which("fluidsynth")
    if fluidsynth is None:
        raise ConfigError("the fluidsynth command was not found on PATH; install it with 'apt-get install fluidsynth'")
    font = _checked_soundfont(soundfont if soundfont is not None else find_soundfont())
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = CorpusManifest(out_dir, seconds, sample_rate, font, seed)
    previous = _previous_records(manifest)
    with tempfile.TemporaryDirectory(prefix="soundalike-corpus-") as scratch:
        for genre, family in STYLE_FAMILIES.items():
            order = family.sources()
            random.Random(f"{seed}:{genre}").shuffle(order)
            taken = 0
            for source in order:
                if taken == per_genre:
                    break
                piece = _plan(manifest, genre, family, source)
                name = piece.path.relative_to(out_dir).as_posix()
                if previous.get(name) == piece.record(out_dir) and piece.path.is_file():
                    piece = replace(piece, rendered=False)
                else:
                    try:
                        _render(manifest, piece, source, fluidsynth=fluidsynth, scratch=Path(scratch))
                    except (InputError, DecodeError) as exc:
                        manifest.skipped.append(SkippedPiece(genre, source.piece_id, str(exc)))
                        continue
                manifest.pieces.append(piece)
                taken += 1
                _write_listings(manifest)
                if on_piece is not None:
                    on_piece(name)
    _write_listings(manifest)
    return manifest


def split_by_piece(
    manifest: CorpusManifest, *, test_fraction: float = 0.33, seed: int = 0
) -> tuple[list[Path], list[Path]]:
    """Train and test audio paths, split per genre so that no piece has files on both sides.

    Every genre with at least two pieces gets at least one piece on each side.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction}")
    train: list[Path] = []
    test: list[Path] = []
    for genre in sorted({piece.genre for piece in manifest.pieces}):
        members = [piece for piece in manifest.pieces if piece.genre == genre]
        names = sorted({piece.piece for piece in members})
        random.Random(f"{seed}:{genre}").shuffle(names)
        held_out = min(max(round(len(names) * test_fraction), 1), len(names) - 1)
        test_names = set(names[:held_out])
        for piece in members:
            (test if piece.piece in test_names else train).append(piece.path)
    return train, test


def slugify(text: str) -> str:
    """Lower-case ASCII letters and digits joined by single hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _checked_soundfont(path: Path) -> Path:
    if not path.is_file():
        raise ConfigError(f"soundfont {path} does not exist")
    with path.open("rb") as handle:
        header = handle.read(12)
    if header[:4] != b"RIFF" or header[8:12] != b"sfbk":
        raise ConfigError(f"soundfont {path} is not an SF2/SF3 file")
    return path.resolve()


def _plan(manifest: CorpusManifest, genre: str, family: StyleFamily, source: CorpusSource) -> CorpusPiece:
    """The file and performance of one piece, drawn from a generator seeded by the piece alone."""
    rng = random.Random(f"{manifest.seed}:{genre}:{source.piece_id}")
    low, high = family.tempo_range
    return CorpusPiece(
        path=manifest.root / slugify(genre) / f"{slugify(source.piece_id)}.ogg",
        genre=genre,
        piece=source.piece_id,
        program=rng.choice(sorted(GM_PROGRAM_POOL)),
        tempo_bpm=round(rng.uniform(low, high), 1),
        transpose=rng.randint(-TRANSPOSE_SEMITONES, TRANSPOSE_SEMITONES),
    )


def _render(
    manifest: CorpusManifest, piece: CorpusPiece, source: CorpusSource, *, fluidsynth: str, scratch: Path
) -> None:
    score = _parse(source)
    quarters = manifest.seconds * piece.tempo_bpm / 60.0 + LOOP_MARGIN_QUARTERS
    midi_path, wav_path = scratch / "piece.mid", scratch / "piece.wav"
    _arrange(score, piece, quarters=quarters).write("midi", fp=midi_path)
    command = [
        fluidsynth, "-n", "-i", "-q", "-o", "synth.dynamic-sample-loading=1", "-O", "float", "-T", "wav",
        "-r", str(manifest.sample_rate), "-F", str(wav_path), str(manifest.soundfont), str(midi_path),
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=RENDER_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise InputError(f"fluidsynth took more than {RENDER_TIMEOUT_S:.0f} s on {piece.piece}") from exc
    if done.returncode != 0:
        raise InputError(f"fluidsynth exited with {done.returncode} on {piece.piece}: {done.stderr.strip()[-300:]}")
    samples = load(wav_path, sr=manifest.sample_rate).samples
    frames = round(manifest.seconds * manifest.sample_rate)
    excerpt = np.zeros(frames, dtype=np.float32)
    excerpt[: min(frames, samples.size)] = samples[:frames]
    peak = float(np.max(np.abs(excerpt)))
    if peak < SILENCE_RMS:
        raise DecodeError(f"the first {manifest.seconds} s of {piece.piece} are silent")
    excerpt *= PEAK / peak
    _encode(excerpt, piece, score, sample_rate=manifest.sample_rate)


def _parse(source: CorpusSource) -> stream.Score:
    try:
        parsed = corpus.parse(source.path, number=source.number)
    except Exception as exc:  # music21's parsers raise many unrelated types on malformed files
        raise InputError(f"music21 cannot parse {source.piece_id}: {type(exc).__name__}: {exc}") from exc
    if not isinstance(parsed, stream.Score):
        raise InputError(f"{source.piece_id} parses to a {type(parsed).__name__}, not one score")
    return parsed


def _arrange(score: stream.Score, piece: CorpusPiece, *, quarters: float) -> stream.Score:
    """The pitched notes of every part, transposed, for one program, looped to ``quarters`` at one tempo."""
    period = float(score.highestTime)
    if period <= 0:
        raise InputError(f"{piece.piece} holds no music")
    loops = math.ceil(quarters / period)
    arranged = stream.Score()
    for part in score.parts:
        flat = part.flatten()
        sounding = [
            (float(n.getOffsetBySite(flat)), n)
            for n in flat.notes
            if n.pitches and not n.duration.isGrace and not isinstance(n, harmony.Harmony)
        ]
        if not sounding:
            continue
        voice = stream.Part()
        voice.insert(0, _program(piece.program))
        for loop in range(loops):
            for offset, source_note in sounding:
                start = offset + loop * period
                if start >= quarters:
                    break
                voice.insert(start, _transposed(source_note, piece.transpose))
        arranged.insert(0, voice)
    if not arranged.parts:
        raise InputError(f"{piece.piece} has no pitched notes")
    arranged.parts[0].insert(0, tempo.MetronomeMark(number=piece.tempo_bpm))
    return arranged


def _program(program: int) -> instrument.Instrument:
    sound = instrument.Instrument()
    sound.midiProgram = program
    return sound


def _transposed(source: note.NotRest, semitones: int) -> note.NotRest:
    pitches = [p.transpose(semitones) for p in source.pitches]
    fresh: note.NotRest = note.Note(pitches[0]) if isinstance(source, note.Note) else chord.Chord(pitches)
    fresh.quarterLength = source.quarterLength
    fresh.tie = source.tie
    return fresh


def _encode(samples: np.ndarray, piece: CorpusPiece, score: stream.Score, *, sample_rate: int) -> None:
    """Write Ogg Vorbis with title, composer and provenance tags, replacing any earlier file.

    The genre is deliberately not tagged (it lives in labels.csv, so held-out pieces stay unlabelled) and
    the album is the piece, so album-grouped splits are piece-grouped splits.
    """
    piece.path.parent.mkdir(parents=True, exist_ok=True)
    partial = piece.path.with_name(f".{piece.path.name}.part")
    try:
        with sf.SoundFile(partial, "w", samplerate=sample_rate, channels=1, format="OGG", subtype="VORBIS") as out:
            out.title = score.metadata.title if score.metadata and score.metadata.title else piece.piece
            if score.metadata and score.metadata.composer:
                out.artist = score.metadata.composer
            out.album = f"corpus: {piece.piece}"
            out.comment = (
                f"{piece.genre}; synthesised from music21 corpus {piece.piece}: GM program {piece.program}, "
                f"{piece.tempo_bpm} bpm, transposed {piece.transpose:+d}"
            )
            out.write(samples)
        os.replace(partial, piece.path)
    finally:
        partial.unlink(missing_ok=True)


def _previous_records(manifest: CorpusManifest) -> dict[str, dict[str, object]]:
    """Piece records of the last build in the same folder, if it used the same settings."""
    path = manifest.root / MANIFEST_FILE
    if not path.is_file():
        return {}
    try:
        previous = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} is not valid JSON ({exc}); delete it to render every piece again") from exc
    if not isinstance(previous, dict) or any(previous.get(k) != v for k, v in manifest.settings().items()):
        return {}
    return {str(record["path"]): record for record in previous.get("pieces", [])}


def _write_listings(manifest: CorpusManifest) -> None:
    """Replace ``labels.csv`` and ``manifest.json`` so they list exactly the pieces built so far."""
    rows = [[piece.path.relative_to(manifest.root).as_posix(), piece.genre, piece.piece] for piece in manifest.pieces]
    with _replacing(manifest.labels_path) as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "genre", "piece"])
        writer.writerows(rows)
    with _replacing(manifest.root / MANIFEST_FILE) as handle:
        json.dump(manifest.as_dict(), handle, indent=2)


@contextmanager
def _replacing(path: Path) -> Iterator[TextIO]:
    """A text file that replaces ``path`` only once it has been written completely."""
    partial = path.with_name(f".{path.name}.part")
    try:
        with partial.open("w", newline="") as handle:
            yield handle
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
