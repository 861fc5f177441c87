"""Log-mel spectrogram and MFCC in torch, from one STFT, matching librosa's defaults.

``SpectralExtractor`` reproduces ``librosa.feature.melspectrogram`` (``center=True``,
``pad_mode="constant"``, periodic Hann window, power 2, Slaney mel filters),
``librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db=80.0)`` and ``librosa.feature.mfcc``
(orthonormal DCT-II of that log-mel), batched, on whichever device it was built for.
Everything is computed in float32: against a float64 librosa reference the error stays
well under 1e-4 relative, so float64 would only cost speed and GPU memory.
"""

from __future__ import annotations

from typing import NamedTuple

import librosa
import numpy as np
import scipy.fft
import torch

from soundalike.ingest.errors import ConfigError

AMIN = 1e-10
TOP_DB = 80.0


class SpectralFeatures(NamedTuple):
    """Log-mel (dB) and MFCC computed from the same STFT."""

    log_mel: torch.Tensor
    mfcc: torch.Tensor


class SpectralExtractor:
    """Mel power spectrogram, log-mel and MFCC of single signals or equal-length batches.

    The window, mel filterbank and DCT matrix are built once, on ``device``. Methods accept a
    1-D signal of shape ``(T,)`` or a batch ``(B, T)`` (numpy or torch, any real float dtype)
    and return float32 tensors on ``device`` of shape ``(n, frames)`` or ``(B, n, frames)``,
    with ``frames = 1 + T // hop_length``.
    """

    def __init__(
        self,
        *,
        sr: int,
        n_fft: int = 2048,
        hop_length: int = 512,
        n_mels: int = 128,
        n_mfcc: int = 20,
        fmin: float = 0.0,
        fmax: float | None = None,
        device: torch.device,
    ) -> None:
        for name, value in (("sr", sr), ("n_fft", n_fft), ("hop_length", hop_length), ("n_mels", n_mels)):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
                raise ConfigError(f"{name}={value!r} must be a positive integer")
        if isinstance(n_mfcc, bool) or not isinstance(n_mfcc, int | np.integer) or not 0 < n_mfcc <= n_mels:
            raise ConfigError(f"n_mfcc={n_mfcc!r} must be an integer in 1..n_mels ({n_mels})")
        nyquist = sr / 2
        top = nyquist if fmax is None else fmax
        if not 0 <= fmin < top <= nyquist:
            raise ConfigError(f"fmin={fmin!r}, fmax={fmax!r}: need 0 <= fmin < fmax <= sr/2 ({nyquist})")

        self.sr = int(sr)
        self.n_fft = int(n_fft)
        self.hop_length = int(hop_length)
        self.n_mels = int(n_mels)
        self.n_mfcc = int(n_mfcc)
        self.fmin = float(fmin)
        self.fmax = fmax
        self.device = device

        self._window = torch.hann_window(self.n_fft, periodic=True, dtype=torch.float32, device=device)
        mel_basis = librosa.filters.mel(
            sr=self.sr, n_fft=self.n_fft, n_mels=self.n_mels, fmin=self.fmin, fmax=fmax, dtype=np.float32
        )
        self._mel_basis = torch.from_numpy(mel_basis).to(device)
        dct = scipy.fft.dct(np.eye(self.n_mels), type=2, norm="ortho", axis=0)[: self.n_mfcc]
        self._dct = torch.from_numpy(dct.astype(np.float32)).to(device)

    def melspectrogram(self, y: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Mel power spectrogram, as ``librosa.feature.melspectrogram`` with this extractor's settings."""
        signal, batched = self._as_batch(y)
        return self._unbatch(self._mel_power(signal), batched)

    def log_mel(self, y: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Log-mel in dB, as ``librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db=80.0)``.

        The ``top_db`` floor is taken per example, relative to that example's own maximum, so a
        quiet clip in a batch is not clipped against a loud neighbour.
        """
        signal, batched = self._as_batch(y)
        return self._unbatch(power_to_db(self._mel_power(signal)), batched)

    def mfcc(self, y: torch.Tensor | np.ndarray) -> torch.Tensor:
        """MFCC, as ``librosa.feature.mfcc`` (orthonormal DCT-II of the 80 dB-floored log-mel)."""
        return self.features(y).mfcc

    def features(self, y: torch.Tensor | np.ndarray) -> SpectralFeatures:
        """Log-mel and MFCC of the same signal(s), from a single STFT."""
        signal, batched = self._as_batch(y)
        log_mel = power_to_db(self._mel_power(signal))
        mfcc = torch.matmul(self._dct, log_mel)
        return SpectralFeatures(self._unbatch(log_mel, batched), self._unbatch(mfcc, batched))

    def _as_batch(self, y: torch.Tensor | np.ndarray) -> tuple[torch.Tensor, bool]:
        """Validate ``y``; return it as a float32 ``(B, T)`` tensor on the device and whether it was 2-D."""
        if isinstance(y, np.ndarray):
            if not np.issubdtype(y.dtype, np.floating):
                raise ValueError(f"signal must hold real floating-point samples, got dtype {y.dtype}")
            y = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))
        elif not isinstance(y, torch.Tensor):
            raise ValueError(f"signal must be a torch.Tensor or numpy.ndarray, got {type(y).__name__}")
        elif not y.is_floating_point():
            raise ValueError(f"signal must hold real floating-point samples, got dtype {y.dtype}")
        if y.ndim not in (1, 2):
            raise ValueError(f"signal must have shape (T,) or (B, T), got shape {tuple(y.shape)}")
        if y.shape[-1] == 0 or (y.ndim == 2 and y.shape[0] == 0):
            raise ValueError(f"signal must not be empty, got shape {tuple(y.shape)}")
        signal = y.to(device=self.device, dtype=torch.float32)
        if not bool(torch.isfinite(signal).all()):
            raise ValueError("signal contains NaN or infinite samples")
        return (signal if y.ndim == 2 else signal.unsqueeze(0)), y.ndim == 2

    def power_spectrogram(self, y: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Power STFT ``(n_fft // 2 + 1, frames)`` or ``(B, n_fft // 2 + 1, frames)``: ``abs(librosa.stft) ** 2``."""
        signal, batched = self._as_batch(y)
        return self._unbatch(self._power(signal), batched)

    @property
    def mel_basis(self) -> torch.Tensor:
        """The ``(n_mels, n_fft // 2 + 1)`` Slaney mel filterbank on the device."""
        return self._mel_basis

    @property
    def dct_matrix(self) -> torch.Tensor:
        """The ``(n_mfcc, n_mels)`` orthonormal DCT-II matrix on the device."""
        return self._dct

    def _mel_power(self, signal: torch.Tensor) -> torch.Tensor:
        """Mel power spectrogram ``(B, n_mels, frames)`` of a ``(B, T)`` batch."""
        return torch.matmul(self._mel_basis, self._power(signal))

    def _power(self, signal: torch.Tensor) -> torch.Tensor:
        """Power STFT ``(B, n_fft // 2 + 1, frames)`` of a ``(B, T)`` batch."""
        stft = torch.stft(
            signal,
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            window=self._window,
            center=True,
            pad_mode="constant",
            return_complex=True,
        )
        return stft.abs().square_()

    @staticmethod
    def _unbatch(features: torch.Tensor, batched: bool) -> torch.Tensor:
        return features if batched else features.squeeze(0)


def power_to_db(power: torch.Tensor) -> torch.Tensor:
    """Log power in dB: ``10 log10(max(power, AMIN))`` floored at ``TOP_DB`` below each example's maximum."""
    db = 10.0 * torch.log10(torch.clamp(power, min=AMIN))
    peak = db.amax(dim=(-2, -1), keepdim=True)
    return torch.maximum(db, peak - TOP_DB)
