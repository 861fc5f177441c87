"""The raw features of each fusion block, read from the catalogue or computed from audio, and the refresh.

Every block is a feature ingestion stores: ``musicnn`` the pooled 1506-d MSD MusiCNN features,
``penultimate`` the 200-d MSD MusiCNN embedding, ``mfcc``, ``chroma`` and ``rhythm`` the statistics of
``ingest.track_features``. ``mtt`` (pooled features of the MTT checkpoint) needs a second network pass, so
it is computed only when the blocks ask for it, at ``index build``; so are the ``musicnn`` block's segments
of tracks analysed before they were stored, when segment re-ranking is on (``embed/segments.py``). A track
analysed before a feature existed gets it from its audio at the next refresh, through the same functions
ingestion uses; outside audio goes through those functions too, so a query file and a catalogue track are
described alike.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce
from pathlib import Path

import numpy as np
import torch
from sqlalchemy.orm import Session

from soundalike.embed import musicnn_encoder, musicnn_runtime
from soundalike.embed.decodable import each_decodable
from soundalike.embed.fusion import (
    MODEL_NAME,
    PROJECTED_MODEL_NAME,
    BlockSpec,
    FittedFusion,
    fit_fusion,
    load_fusion,
    parse_blocks,
    save_fusion,
    still_fits,
)
from soundalike.embed.musicnn import MusiCNN, load_musicnn
from soundalike.embed.musicnn_frontend import SAMPLE_RATE, musicnn_patches
from soundalike.embed.patch_embeddings import patch_embeddings
from soundalike.embed.segments import complete_segments
from soundalike.embed.store import has_other_version, load_embeddings, put_embeddings, replace_embeddings, stale_tracks
from soundalike.ingest.audio import at_rate, decode, load
from soundalike.ingest.errors import ConfigError, DecodeError, NotFoundError, PreconditionError
from soundalike.ingest.repository import feature_matrix, set_feature, set_track_features, tracks_missing_features
from soundalike.ingest.settings import Settings
from soundalike.ingest.track_features import (
    CHROMA_STATS_NAME,
    MFCC_STATS_NAME,
    RHYTHM_STATS_NAME,
    TrackFeatures,
    track_features,
)

MTT_FEATURE = "musicnn_mtt_pooled"
MTT_VERSION = "1"
STORED = {
    "musicnn": musicnn_encoder.POOLED_FEATURE,
    "mtt": MTT_FEATURE,
    "mfcc": MFCC_STATS_NAME,
    "chroma": CHROMA_STATS_NAME,
    "rhythm": RHYTHM_STATS_NAME,
}
"""The stored feature each block reads (``penultimate`` reads the MSD MusiCNN embeddings instead)."""
INGEST_BLOCKS = frozenset({"mfcc", "chroma", "rhythm"})
MSD_BLOCKS = frozenset({"musicnn", "penultimate"})


def needs_msd(blocks: tuple[BlockSpec, ...]) -> bool:
    """Whether the blocks read what the MSD MusiCNN computes (so ingestion should run it)."""
    return any(b.name in MSD_BLOCKS for b in blocks)


def settings_need_msd(settings: Settings) -> bool:
    """Whether the configured embedding model is ``fusion`` (or its projection) with a block of the MSD MusiCNN."""
    return settings.embedding_model in (MODEL_NAME, PROJECTED_MODEL_NAME) and needs_msd(
        parse_blocks(settings.fusion_blocks)
    )


class Networks:
    """The MusiCNN checkpoints the blocks need, each loaded on first use on one device."""

    def __init__(self, settings: Settings, device: torch.device) -> None:
        """Load networks on ``device`` when first asked; the MSD one runs by ``settings.cnn_runtime``."""
        self.settings = settings
        self.device = device
        self._msd: musicnn_encoder.PatchEncoder[torch.nn.Module] | None = None
        self._mtt: MusiCNN | None = None

    @property
    def msd(self) -> musicnn_encoder.PatchEncoder[torch.nn.Module]:
        """The MSD encoder (pooled features and embedding)."""
        if self._msd is None:
            self._msd = musicnn_runtime.msd_encoder(self.settings, self.device)
        return self._msd

    @property
    def msd_version(self) -> str:
        """The version the MSD encoder writes, known without loading it."""
        return musicnn_runtime.msd_version(self.settings, self.device)

    @property
    def mtt(self) -> MusiCNN:
        """The MTT network."""
        if self._mtt is None:
            self._mtt = load_musicnn("MTT_musicnn").to(self.device).eval()
        return self._mtt


def mtt_pooled(model: MusiCNN, y: np.ndarray) -> np.ndarray:
    """(1506,) mean pooled MTT features over the MusiCNN patches of 16 kHz mono audio."""
    return patch_embeddings(model, musicnn_patches(y=y), pooled=True).mean(axis=0).astype(np.float32)


def complete_catalogue(
    session: Session,
    blocks: tuple[BlockSpec, ...],
    settings: Settings,
    networks: Networks,
    *,
    on_track: Callable[[], None] | None = None,
) -> bool:
    """Compute, from the audio, each block feature that an ok track lacks; an undecodable track is passed over.

    Returns whether MSD features of another version (another CNN runtime) were replaced."""
    names = {b.name for b in blocks}
    sr, max_bytes = settings.sample_rate, settings.max_file_bytes
    replaced = bool(names & MSD_BLOCKS) and has_other_version(session, musicnn_encoder.MODEL_NAME, networks.msd_version)
    if names & MSD_BLOCKS and stale_tracks(session, musicnn_encoder.MODEL_NAME, networks.msd_version):
        musicnn_encoder.refresh_embeddings(session, networks.msd, on_track=on_track)
    if "musicnn" in names and settings.segment_weight > 0:
        complete_segments(session, networks.msd, max_bytes=max_bytes, on_track=on_track)
    if names & INGEST_BLOCKS:
        missing = tracks_missing_features(session, [STORED[n] for n in names & INGEST_BLOCKS])

        def analyse(item: tuple[int, Path]) -> TrackFeatures:
            return track_features(y=load(item[1], sr=sr, max_bytes=max_bytes).samples, sr=sr)

        for (track_id, _), features in each_decodable(missing, analyse, on_item=on_track):
            set_track_features(session, track_id, features)
    if "mtt" in names:
        for (track_id, _), vector in each_decodable(
            tracks_missing_features(session, [MTT_FEATURE]),
            lambda item: mtt_pooled(networks.mtt, load(item[1], sr=SAMPLE_RATE, max_bytes=max_bytes).samples),
            on_item=on_track,
        ):
            set_feature(session, track_id, MTT_FEATURE, MTT_VERSION, vector)
    session.flush()
    return replaced


def catalogue_features(session: Session, blocks: tuple[BlockSpec, ...]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(track ids, each block's (n, d) raw features) over the ok tracks that have every block, by id."""
    found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for block in blocks:
        if block.name == "penultimate":
            ids, vectors, _ = load_embeddings(session, musicnn_encoder.MODEL_NAME)
            found[block.name] = (ids, vectors)
        else:
            found[block.name] = feature_matrix(session, STORED[block.name])
    common = reduce(np.intersect1d, [ids for ids, _ in found.values()])
    return common, {name: matrix[np.searchsorted(ids, common)] for name, (ids, matrix) in found.items()}


def audio_features(
    path: Path, blocks: tuple[BlockSpec, ...], settings: Settings, networks: Networks, *, parts: int = 1
) -> dict[str, np.ndarray]:
    """Each block's (parts, d) raw features of ``parts`` consecutive, disjoint pieces of a file's decoded audio."""
    if parts < 1:
        raise ValueError(f"parts must be at least 1, got {parts}")
    source = decode(path, max_bytes=settings.max_file_bytes)
    if source.samples.size < parts * source.sample_rate:
        raise DecodeError(f"{path} is too short for {parts} excerpts of at least 1 s")
    names = {b.name for b in blocks}
    out: dict[str, np.ndarray] = {}
    if names & INGEST_BLOCKS:
        y = at_rate(source, settings.sample_rate).samples
        described = [track_features(y=piece, sr=settings.sample_rate).vectors() for piece in np.array_split(y, parts)]
        out |= {n: np.stack([d[STORED[n]] for d in described]) for n in names & INGEST_BLOCKS}
    if names & (MSD_BLOCKS | {"mtt"}):
        pieces = np.array_split(at_rate(source, SAMPLE_RATE).samples, parts)
        if names & MSD_BLOCKS:
            limit = networks.msd.patch_limit
            encoded = networks.msd.encode_patches([musicnn_patches(y=piece, limit=limit) for piece in pieces])
            out["musicnn"] = np.stack([e.pooled for e in encoded])
            out["penultimate"] = np.stack([e.embedding for e in encoded])
        if "mtt" in names:
            out["mtt"] = np.stack([mtt_pooled(networks.mtt, piece) for piece in pieces])
    return out


def refresh_embeddings(
    session: Session, settings: Settings, networks: Networks, *, on_track: Callable[[], None] | None = None
) -> tuple[int, str]:
    """Complete the block features and embed every track without a current fusion embedding.

    Only tracks lacking a feature are decoded; the rest reads stored features. The saved normalisers are kept
    while they were fitted for these blocks on a catalogue of about this size (``fusion.still_fits``) and the MSD
    features kept their version; otherwise every block is refitted and every embedding rewritten under the new
    version. Returns (count written, version).
    """
    blocks = parse_blocks(settings.fusion_blocks)
    replaced = complete_catalogue(session, blocks, settings, networks, on_track=on_track)
    ids, raw = catalogue_features(session, blocks)
    if len(ids) == 0:
        raise PreconditionError("no analysed tracks to embed (run `soundalike ingest PATH` first)")
    kept = None if replaced else _kept_fit(settings, blocks, len(ids))
    if kept is not None:
        stale = np.isin(ids, [track_id for track_id, _ in stale_tracks(session, MODEL_NAME, kept.version)])
        rows = {name: matrix[stale] for name, matrix in raw.items()}
        return put_embeddings(session, MODEL_NAME, kept.version, ids[stale], kept.embed(rows)), kept.version
    fitted = fit_fusion(blocks, raw)
    save_fusion(fitted, settings.models_dir)
    return replace_embeddings(session, MODEL_NAME, fitted.version, ids, fitted.embed(raw)), fitted.version


def _kept_fit(settings: Settings, blocks: tuple[BlockSpec, ...], tracks: int) -> FittedFusion | None:
    """The saved fit when it was made for ``blocks`` and still fits a catalogue of ``tracks``; else None."""
    try:
        saved = load_fusion(settings.models_dir, blocks)
    except (NotFoundError, ConfigError):
        return None
    return saved if still_fits(saved, tracks) else None
