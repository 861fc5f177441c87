"""Track embeddings from the pretrained MusiCNN (MSD checkpoint).

Patch policy (``musicnn_frontend``): up to ``MAX_PATCHES`` non-overlapping 3 s patches spread evenly over the decoded
audio (which already follows the ingest analysis policy: whole track up to 2 min, else four 30 s
segments); shorter audio is looped to fill one patch.
Track embedding: mean over patches of the 200-d penultimate layer, L2-normalised.
The 50 tag probabilities (mean over patches) are stored as the feature ``musicnn_tags``, and the
1506-d pooled mid-level features (mean over patches) as ``musicnn_pooled``: the genre head reads
those, which tag better than the penultimate layer, while similarity keeps the compact embedding
(bench/RESULTS.md, "Embeddings"). The patches split into up to ``SEGMENTS`` consecutive runs give the pooled
features of each segment, stored as one ``musicnn_segments`` row of ``k * 1506`` values (``embed/segments.py``
reads them back).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Generic, NamedTuple, TypeVar

import numpy as np
import torch
from sqlalchemy.orm import Session
from torch import nn

from soundalike.embed.musicnn import MusiCNN, load_musicnn
from soundalike.embed.musicnn_frontend import LOOPED_NOTE, MAX_PATCHES, SAMPLE_RATE, is_short, musicnn_patches
from soundalike.embed.patch_embeddings import segment_means
from soundalike.embed.store import embed_stale_tracks
from soundalike.embed.unit_norm import unit
from soundalike.ingest.audio import load
from soundalike.ingest.errors import DecodeError
from soundalike.ingest.repository import add_track_note, set_feature

MODEL_NAME = "musicnn-msd"
MODEL_VERSION = "2-penultimate-mean"
TAGS_FEATURE = "musicnn_tags"
POOLED_FEATURE = "musicnn_pooled"
SEGMENTS_FEATURE = "musicnn_segments"
SEGMENTS = 3
BATCH_PATCHES = 32


class Encoded(NamedTuple):
    """What MusiCNN gives for one track."""

    embedding: np.ndarray
    """(200,) unit-norm mean penultimate layer: the track's embedding."""
    tags: np.ndarray
    """(50,) mean tag probabilities."""
    pooled: np.ndarray
    """(1506,) mean pooled mid-level features: the genre head's input."""
    segments: np.ndarray
    """(k, 1506) mean pooled features of up to ``SEGMENTS`` consecutive runs of patches, in time order."""


def store_track_features(session: Session, track_id: int, encoded: Encoded, version: str = MODEL_VERSION) -> None:
    """Write a track's tag probabilities, pooled mid-level features and its segments' (the embedding is stored
    apart)."""
    set_feature(session, track_id, TAGS_FEATURE, version, encoded.tags)
    set_feature(session, track_id, POOLED_FEATURE, version, encoded.pooled)
    set_feature(session, track_id, SEGMENTS_FEATURE, version, encoded.segments.ravel())


Network = TypeVar("Network", bound=nn.Module)


class PatchEncoder(Generic[Network]):
    """A network with MusiCNN's outputs (``MusiCNNOutput``), loaded once on one device.

    Encodes decoded audio into (embedding, tags, pooled) from at most ``patch_limit`` patches per track;
    ``model_name`` and ``version`` name the embeddings and features it writes, so vectors of two networks
    (or two patch policies) never mix.
    """

    def __init__(
        self,
        model: Network,
        device: torch.device,
        *,
        model_name: str,
        version: str,
        patch_limit: int = MAX_PATCHES,
    ) -> None:
        """Move ``model`` onto ``device`` in inference mode."""
        self.device = device
        self.model: Network = model.to(device).eval()
        self.model_name = model_name
        self.version = version
        self.patch_limit = patch_limit

    def encode_patches(self, per_track: list[np.ndarray]) -> list[Encoded]:
        """Embedding, tag probabilities and pooled features of each track's (n, 187, 96) log-mel patches.

        The patches of all tracks run through the network together, ``BATCH_PATCHES`` at a time, so
        many short tracks fill a batch as well as one long one. Every track needs at least one patch
        (``musicnn_patches`` gives one to any audio that is not empty).
        """
        if any(len(p) == 0 for p in per_track):
            raise DecodeError("audio shorter than one 3 s MusiCNN patch")
        if not per_track:
            return []
        stacked = np.concatenate([np.asarray(p, dtype=np.float32) for p in per_track])
        penultimate, tags, pooled = [], [], []
        with torch.inference_mode():
            for start in range(0, len(stacked), BATCH_PATCHES):
                batch = torch.from_numpy(np.ascontiguousarray(stacked[start : start + BATCH_PATCHES]))
                out = self.model(batch.to(self.device))
                penultimate.append(out.penultimate.float().cpu().numpy())
                tags.append(out.tags.float().cpu().numpy())
                pooled.append(out.pooled.float().cpu().numpy())
        bounds = np.cumsum([0, *(len(p) for p in per_track)])
        all_emb, all_tags, all_pooled = np.concatenate(penultimate), np.concatenate(tags), np.concatenate(pooled)
        results = []
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            results.append(
                Encoded(
                    unit(all_emb[lo:hi].mean(axis=0)),
                    all_tags[lo:hi].mean(axis=0).astype(np.float32),
                    all_pooled[lo:hi].mean(axis=0).astype(np.float32),
                    segment_means(all_pooled[lo:hi], SEGMENTS),
                )
            )
        return results

    def encode_audio(self, y: np.ndarray) -> Encoded:
        """Embedding, tag probabilities and pooled features of 16 kHz mono audio."""
        return self.encode_patches([musicnn_patches(y=y, limit=self.patch_limit)])[0]

    def encode_file(self, path: Path, *, max_bytes: int | None = None) -> Encoded:
        """Decode a file at 16 kHz (ingest analysis policy) and encode it."""
        return self.encode_audio(load(path, sr=SAMPLE_RATE, max_bytes=max_bytes).samples)


class MusicnnEncoder(PatchEncoder[MusiCNN]):
    """The pretrained MusiCNN (MSD checkpoint)."""

    def __init__(self, device: torch.device) -> None:
        """Load the MSD checkpoint onto ``device`` in inference mode."""
        super().__init__(load_musicnn("MSD_musicnn"), device, model_name=MODEL_NAME, version=MODEL_VERSION)


def refresh_embeddings(
    session: Session, encoder: PatchEncoder[nn.Module], *, on_track: Callable[[], None] | None = None
) -> tuple[int, str]:
    """Encode tracks that lack a current embedding; keep the others. Returns (count encoded, version)."""

    def embed_track(track_id: int, path: Path) -> np.ndarray:
        samples = load(path, sr=SAMPLE_RATE).samples
        encoded = encoder.encode_audio(samples)
        store_track_features(session, track_id, encoded, encoder.version)
        if is_short(len(samples)):
            add_track_note(session, track_id, LOOPED_NOTE)
        return encoded.embedding

    written = embed_stale_tracks(session, encoder.model_name, encoder.version, embed_track, on_track=on_track)
    return written, encoder.version
