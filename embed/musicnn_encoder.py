"""Track embeddings from the pretrained MusiCNN (MSD checkpoint).

Patch policy: up to ``MAX_PATCHES`` non-overlapping 3 s patches spread evenly over the decoded
audio (which already follows the ingest analysis policy: whole track up to 2 min, else four 30 s
segments). Track embedding: mean over patches of the 200-d penultimate layer, L2-normalised.
The 50 tag probabilities (mean over patches) are stored as the feature ``musicnn_tags``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from sqlalchemy.orm import Session

from soundalike.embed.musicnn import MusiCNN, load_musicnn
from soundalike.embed.store import embed_stale_tracks
from soundalike.ingest.audio import load
from soundalike.ingest.errors import DecodeError
from soundalike.ingest.logmel import MAX_PATCHES, SAMPLE_RATE, musicnn_patches, select_patches
from soundalike.ingest.repository import set_feature

MODEL_NAME = "musicnn-msd"
MODEL_VERSION = "1-penultimate-mean"
TAGS_FEATURE = "musicnn_tags"
BATCH_PATCHES = 32
__all__ = ["MAX_PATCHES", "MODEL_NAME", "MODEL_VERSION", "MusicnnEncoder", "refresh_embeddings", "select_patches"]


class MusicnnEncoder:
    """The network loaded once on one device; encodes decoded audio into (embedding, tags)."""

    def __init__(self, device: torch.device) -> None:
        """Load the MSD checkpoint onto ``device`` in inference mode."""
        self.device = device
        self.model: MusiCNN = load_musicnn("MSD_musicnn").to(device).eval()

    def encode_patches(self, per_track: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        """(unit-norm embedding, tag probabilities) of each track's (n, 187, 96) log-mel patches.

        The patches of all tracks run through the network together, ``BATCH_PATCHES`` at a time, so
        many short tracks fill a batch as well as one long one. Every track needs at least one patch.
        """
        if any(len(p) == 0 for p in per_track):
            raise DecodeError("audio shorter than one 3 s MusiCNN patch")
        if not per_track:
            return []
        stacked = np.concatenate([np.asarray(p, dtype=np.float32) for p in per_track])
        penultimate, tags = [], []
        with torch.inference_mode():
            for start in range(0, len(stacked), BATCH_PATCHES):
                batch = torch.from_numpy(np.ascontiguousarray(stacked[start : start + BATCH_PATCHES]))
                out = self.model(batch.to(self.device))
                penultimate.append(out.penultimate.float().cpu().numpy())
                tags.append(out.tags.float().cpu().numpy())
        bounds = np.cumsum([0, *(len(p) for p in per_track)])
        all_emb, all_tags = np.concatenate(penultimate), np.concatenate(tags)
        results = []
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            embedding = all_emb[lo:hi].mean(axis=0)
            embedding /= max(float(np.linalg.norm(embedding)), 1e-12)
            results.append((embedding.astype(np.float32), all_tags[lo:hi].mean(axis=0).astype(np.float32)))
        return results

    def encode_audio(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(unit-norm embedding, tag probabilities) of 16 kHz mono audio."""
        return self.encode_patches([musicnn_patches(y=y)])[0]

    def encode_file(self, path: Path, *, max_bytes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Decode a file at 16 kHz (ingest analysis policy) and encode it."""
        return self.encode_audio(load(path, sr=SAMPLE_RATE, max_bytes=max_bytes).samples)


def refresh_embeddings(
    session: Session, encoder: MusicnnEncoder, *, on_track: Callable[[], None] | None = None
) -> tuple[int, str]:
    """Encode tracks that lack a current embedding; keep the others. Returns (count encoded, version)."""

    def embed_track(track_id: int, path: Path) -> np.ndarray:
        embedding, tags = encoder.encode_file(path)
        set_feature(session, track_id, TAGS_FEATURE, MODEL_VERSION, tags)
        return embedding

    return embed_stale_tracks(session, MODEL_NAME, MODEL_VERSION, embed_track, on_track=on_track), MODEL_VERSION
