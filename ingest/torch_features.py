"""The batched torch twin of ``track_features.track_features``: many tracks per STFT, on any device.

Tracks of different lengths share a torch batch by zero-padding to the longest: with ``center=True``
and constant padding, frame t of a track only sees its own samples and the zeros past its end, so the
first ``1 + T // hop`` frames of the padded STFT are exactly that track's frames. From those frames:
log-mel (dB, floored 80 dB under the track's own peak) -> MFCC statistics; the onset envelope, as
``librosa.onset.onset_strength`` computes it over that log-mel; the chromagram, as
``librosa.feature.chroma_stft(tuning=0)``. A batch is bounded by its padded sample count, so device
memory stays bounded whatever the track lengths. ``track_feature_batcher`` chooses once.
"""

from __future__ import annotations

import librosa
import numpy as np
import torch

from soundalike.ingest.errors import ConfigError
from soundalike.ingest.settings import FeatureExtractor
from soundalike.ingest.spectral import SpectralExtractor, power_to_db
from soundalike.ingest.track_features import (
    HOP_LENGTH,
    MAX_BATCH_SAMPLES,
    N_FFT,
    N_MFCC,
    TrackFeatureBatcher,
    TrackFeatures,
    from_parts,
)

ONSET_LAG = 1


def length_batches(lengths: list[int], max_samples: int) -> list[list[int]]:
    """Indices grouped shortest-first so that ``len(batch) * longest`` stays within ``max_samples``.

    A signal longer than ``max_samples`` gets a batch of its own.
    """
    batches: list[list[int]] = []
    current: list[int] = []
    for index in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        if current and (len(current) + 1) * lengths[index] > max_samples:
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


def onset_envelope(log_mel: torch.Tensor) -> torch.Tensor:
    """``librosa.onset.onset_strength(S=log_mel)`` for a (bands, frames) log-mel: mean rise per frame."""
    rise = torch.clamp(log_mel[:, ONSET_LAG:] - log_mel[:, :-ONSET_LAG], min=0.0).mean(dim=0)
    shift = ONSET_LAG + N_FFT // (2 * HOP_LENGTH)
    return torch.nn.functional.pad(rise, (shift, 0))[: log_mel.shape[1]]


def normalised_chroma(raw: torch.Tensor) -> torch.Tensor:
    """Each frame of a (12, frames) chroma divided by its maximum, as ``librosa.util.normalize(norm=inf)``."""
    peak = raw.abs().amax(dim=0, keepdim=True)
    return raw / torch.where(peak < torch.finfo(raw.dtype).tiny, torch.ones_like(peak), peak)


class TorchTrackFeatures:
    """MFCC, chroma and rhythm statistics, tempo and key of many signals on one device, from one STFT per batch."""

    def __init__(self, device: torch.device, *, n_mfcc: int = N_MFCC, max_batch_samples: int = MAX_BATCH_SAMPLES):
        """Compute on ``device``, at most ``max_batch_samples`` padded samples per STFT."""
        self.device, self.n_mfcc, self.max_batch_samples = device, n_mfcc, max_batch_samples
        self._extractors: dict[int, tuple[SpectralExtractor, torch.Tensor]] = {}

    def _for_rate(self, sr: int) -> tuple[SpectralExtractor, torch.Tensor]:
        if sr not in self._extractors:
            extractor = SpectralExtractor(
                sr=sr, n_fft=N_FFT, hop_length=HOP_LENGTH, n_mfcc=self.n_mfcc, device=self.device
            )
            chroma = librosa.filters.chroma(sr=sr, n_fft=N_FFT, tuning=0.0, n_chroma=12)
            self._extractors[sr] = (extractor, torch.from_numpy(chroma.astype(np.float32)).to(self.device))
        return self._extractors[sr]

    def __call__(self, signals: list[np.ndarray], *, sr: int) -> list[TrackFeatures]:
        """Features of each mono signal, in input order."""
        extractor, chroma_basis = self._for_rate(sr)
        lengths = [len(y) for y in signals]
        results: list[TrackFeatures | None] = [None] * len(signals)
        for batch in length_batches(lengths, self.max_batch_samples):
            padded = np.zeros((len(batch), max(lengths[i] for i in batch)), dtype=np.float32)
            for row, i in enumerate(batch):
                padded[row, : lengths[i]] = signals[i]
            with torch.inference_mode():
                power = extractor.power_spectrogram(padded)
                mel = torch.matmul(extractor.mel_basis, power)
                chroma = torch.matmul(chroma_basis, power)
                for row, i in enumerate(batch):
                    frames = 1 + lengths[i] // HOP_LENGTH
                    results[i] = self._track(extractor, mel[row, :, :frames], chroma[row, :, :frames], sr)
        return [r for r in results if r is not None]

    def _track(self, extractor: SpectralExtractor, mel: torch.Tensor, chroma: torch.Tensor, sr: int) -> TrackFeatures:
        log_mel = power_to_db(mel)
        return from_parts(
            mfcc=torch.matmul(extractor.dct_matrix, log_mel).cpu().numpy(),
            onset=onset_envelope(log_mel).cpu().numpy(),
            chroma=normalised_chroma(chroma).cpu().numpy(),
            sr=sr,
        )


def track_feature_batcher(choice: FeatureExtractor, device: torch.device) -> TrackFeatureBatcher | None:
    """The batched torch extractor on ``device``, or None where the decoding workers keep librosa.

    ``auto`` picks torch on CUDA and librosa on the CPU, where librosa measured faster
    (bench/RESULTS.md, "Features"); ``torch`` forces the batched extractor on any device.
    """
    if choice == "librosa":
        return None
    if choice == "torch" or (choice == "auto" and device.type == "cuda"):
        return TorchTrackFeatures(device)
    if choice == "auto":
        return None
    raise ConfigError(f"feature extractor {choice!r} is not one of auto, librosa, torch")
