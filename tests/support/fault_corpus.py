"""A folder of good files of odd shapes beside files that cannot be ingested, shared by the ingest engines' tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from support.audio_factory import write_audio

LONG_SECONDS = 20 * 60
GOOD = {"good.wav", "rate8k.wav", "rate96k.wav", "surround.wav", "long.wav"}
BAD = {"empty.wav", "truncated.flac", "truncated.mp3", "text.mp3", "silent.wav", "folder.mp3"}
LOCKED = "locked.wav"


def noise_tone(seconds: float, sr: int) -> np.ndarray:
    rng = np.random.default_rng(7)
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)


def make_fault_corpus(library: Path, root: Path) -> Path:
    """Fill ``root`` from the ``library`` fixture; ``LOCKED`` is left without permissions (restore them after)."""
    root.mkdir()
    shutil.copy(library / "drone" / "drone_00.wav", root / "good.wav")
    (root / "empty.wav").write_bytes(b"")
    (root / "truncated.flac").write_bytes((library / "drone" / "drone_02.flac").read_bytes()[:100])
    (root / "truncated.mp3").write_bytes((library / "beat" / "beat_07.mp3").read_bytes()[:300])
    (root / "text.mp3").write_text("not audio at all\n" * 20)
    write_audio(root / "silent.wav", np.zeros(3 * 22050, dtype=np.float32), 22050)
    write_audio(root / "rate8k.wav", noise_tone(3, 8000), 8000)
    write_audio(root / "rate96k.wav", noise_tone(3, 96000), 96000)
    write_audio(root / "surround.wav", noise_tone(3, 22050), 22050, channels=6)
    write_audio(root / "long.wav", noise_tone(LONG_SECONDS, 8000), 8000)
    (root / "folder.mp3").mkdir()
    locked = root / LOCKED
    write_audio(locked, noise_tone(2, 22050), 22050)
    locked.chmod(0)
    return root
