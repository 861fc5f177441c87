"""MusiCNN's log-mel front end and patch policy: pure functions of 16 kHz mono audio.

The network (in ``embed.musicnn``) was trained on 96-band log-mel patches of 187 frames (3 s); these
functions make them. ``PatchFrontEnd`` hands them to ingestion as an ``ingest.analysis.AudioFrontEnd``,
so the decoding workers cut the patches from the one decode of a file and ship them to the encoder.
Patch policy: at most ``MAX_PATCHES`` (``SOUNDALIKE_MUSICNN_PATCHES`` sets another count) non-overlapping patches
spread evenly over the decoded audio (which already follows the analysis policy of ``ingest.audio``). Audio shorter
than one patch (ingest decodes tracks from 1 s) is looped end to end to fill one, so a short track is embedded from
its own sound rather than from silence; its track row gets ``LOOPED_NOTE``.
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np

SAMPLE_RATE = 16000
N_FFT = 512
HOP_LENGTH = 256
N_MELS = 96
PATCH_FRAMES = 187
MAX_PATCHES = 8
PATCH_SAMPLES = (PATCH_FRAMES - 1) * HOP_LENGTH
"""The fewest 16 kHz samples that make one patch."""
LOOPED_NOTE = "shorter than one embedding patch: its audio is looped to fill one"


def _compressed_mel(y: np.ndarray, *, center: bool) -> np.ndarray:
    """(..., frames, 96) log-compressed mel of (..., samples) 16 kHz audio."""
    mel = librosa.feature.melspectrogram(
        y=np.asarray(y, dtype=np.float32),
        sr=SAMPLE_RATE,
        n_fft=N_FFT,
        hop_length=HOP_LENGTH,
        n_mels=N_MELS,
        center=center,
    )
    mel = np.swapaxes(mel, -1, -2).astype(np.float16).astype(np.float32)
    return np.log10(10000.0 * mel + 1.0).astype(np.float32)


def musicnn_logmel(*, y: np.ndarray) -> np.ndarray:
    """Log-compressed mel spectrogram, (frames, 96) float32, as MusiCNN was trained on.

    ``y`` is 16 kHz mono audio. The mel power is rounded through float16 like the original pipeline,
    then compressed with ``log10(10000 x + 1)`` in float32.
    """
    if y.ndim != 1:
        raise ValueError(f"expected mono audio of shape (samples,), got shape {y.shape}")
    return _compressed_mel(y, center=True)


def patches(logmel: np.ndarray, *, n_frames: int = PATCH_FRAMES) -> np.ndarray:
    """Cut a (frames, bands) log-mel into non-overlapping (n, n_frames, bands) patches, dropping the tail."""
    if logmel.ndim != 2:
        raise ValueError(f"expected a (frames, bands) log-mel, got shape {logmel.shape}")
    if n_frames <= 0:
        raise ValueError(f"n_frames must be positive, got {n_frames}")
    n = logmel.shape[0] // n_frames
    return np.ascontiguousarray(logmel[: n * n_frames].reshape(n, n_frames, logmel.shape[1]))


def patch_indices(n_patches: int, *, limit: int = MAX_PATCHES) -> np.ndarray:
    """Indices of at most ``limit`` patches spread evenly over ``n_patches`` (all of them when fewer)."""
    if n_patches <= limit:
        return np.arange(n_patches)
    return np.linspace(0, n_patches - 1, limit).round().astype(int)


def select_patches(all_patches: np.ndarray, *, limit: int = MAX_PATCHES) -> np.ndarray:
    """At most ``limit`` patches spread evenly over the track (all of them when fewer)."""
    return all_patches[patch_indices(len(all_patches), limit=limit)]


def is_short(samples: int) -> bool:
    """Whether this many 16 kHz samples fall short of one patch, so ``fill_one_patch`` loops them."""
    return samples < PATCH_SAMPLES


def fill_one_patch(y: np.ndarray) -> np.ndarray:
    """16 kHz audio ``y`` repeated end to end to fill one patch (unchanged when it already does, or is empty)."""
    if not is_short(len(y)) or len(y) == 0:
        return y
    return np.tile(y, -(-PATCH_SAMPLES // len(y)))[:PATCH_SAMPLES]


def musicnn_patches(*, y: np.ndarray, limit: int = MAX_PATCHES) -> np.ndarray:
    """The (n <= limit, 187, 96) float32 patches MusiCNN encodes for 16 kHz mono audio ``y``.

    Equal to ``select_patches(patches(musicnn_logmel(y=fill_one_patch(y))))`` but computes only the chosen
    patches' frames: each is taken from the zero-padded signal with its own STFT context, which is exactly
    what the centred whole-signal spectrogram sees at those frames. Only empty audio gives no patch.
    """
    if y.ndim != 1:
        raise ValueError(f"expected mono audio of shape (samples,), got shape {y.shape}")
    y = fill_one_patch(y)
    n_patches = (1 + len(y) // HOP_LENGTH) // PATCH_FRAMES
    chosen = patch_indices(n_patches, limit=limit)
    if len(chosen) == 0:
        return np.zeros((0, PATCH_FRAMES, N_MELS), dtype=np.float32)
    padded = np.pad(np.asarray(y, dtype=np.float32), N_FFT // 2)
    span = (PATCH_FRAMES - 1) * HOP_LENGTH + N_FFT
    excerpts = np.stack([padded[i * PATCH_FRAMES * HOP_LENGTH :][:span] for i in chosen])
    return np.ascontiguousarray(_compressed_mel(excerpts, center=False))


@dataclass(frozen=True)
class PatchFrontEnd:
    """``musicnn_patches`` as an ingest front end: run by the decoding workers on each file's 16 kHz audio."""

    limit: int = MAX_PATCHES

    @property
    def sample_rate(self) -> int:
        """The rate ingestion resamples the decode to before calling this front end."""
        return SAMPLE_RATE

    def __call__(self, *, y: np.ndarray) -> np.ndarray:
        """The (n <= limit, 187, 96) float32 patches of 16 kHz mono audio ``y``."""
        return musicnn_patches(y=y, limit=self.limit)
