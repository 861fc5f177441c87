"""The fusion embedding: blocks of track features, each normalised on the catalogue, weighted and joined.

A block is one kind of stored feature (``BLOCK_NAMES``). Each is standardised per dimension on the
catalogue (optionally projected by PCA, kept to k dimensions or whitened), scaled to unit L2 norm and
multiplied by the square root of its weight; the blocks are concatenated and the result scaled to unit
norm. So the cosine of two fused vectors is the weighted mean of their per-block cosines, and the inner
product of two vectors' slices of one block is that block's share of their cosine
(``block_contributions``).

Blocks and weights come from ``SOUNDALIKE_FUSION_BLOCKS``: comma-separated ``name:weight[:reduction]``,
e.g. ``musicnn:1:whiten64,mfcc:0.5,chroma:0.25,rhythm:0.1``. A reduction is ``std`` (the default:
standardise only), ``pcaK`` (standardise, then the K leading principal components) or ``whiten`` /
``whitenK`` (the same components, each scaled to unit variance); K is capped by the catalogue's rank.
A block of weight 0 is left out.

The model version names the layout (each block's code and width), after a fingerprint of the spec and
every fitted parameter, e.g. ``1-3fa2b0c1-mu1506.mf120.ch24.rh3``: it changes whenever blocks, weights or
the fit change (so ``index build`` rewrites the embeddings), and ``layout_of`` reads the slices back from
the version alone, which the index carries with its vectors.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from soundalike.embed.standardiser import Standardiser, fingerprint, fit_standardiser
from soundalike.embed.unit_norm import unit_rows
from soundalike.ingest.atomic_files import atomic_write_npz
from soundalike.ingest.errors import ConfigError, NotFoundError

MODEL_NAME = "fusion"
PROJECTED_MODEL_NAME = "fusion-projected"
"""The fusion vectors through the style map learnt from weak labels (``embed/style_projection.py``)."""
FORMAT = "1"
FILE = "fusion-normalisers.npz"
CODES = {"musicnn": "mu", "penultimate": "pe", "mtt": "mt", "mfcc": "mf", "chroma": "ch", "rhythm": "rh"}
BLOCK_NAMES = tuple(CODES)
ASPECTS = {
    "musicnn": "style",
    "penultimate": "style",
    "mtt": "style",
    "mfcc": "timbre",
    "chroma": "harmony",
    "rhythm": "rhythm",
}
"""The aspect of a match each block stands for, as explanations name it."""
REDUCTIONS = ("std", "pca", "whiten")
MAX_PCA_ROWS = 20_000
REFIT_FRACTION = 0.1
PCA_SEED = 0
_REDUCTION = re.compile(r"^(std|pca|whiten)(\d*)$")
_VERSION = re.compile(rf"^{FORMAT}-[0-9a-f]{{8}}-((?:[a-z]{{2}}\d+)(?:\.[a-z]{{2}}\d+)*)$")


@dataclass(frozen=True)
class BlockSpec:
    """One block as the settings ask for it: its name, weight and catalogue normalisation."""

    name: str
    weight: float
    reduction: str = "std"
    dims: int | None = None

    def text(self) -> str:
        """Canonical ``name:weight:reduction`` form."""
        return f"{self.name}:{self.weight:g}:{self.reduction}{self.dims or ''}"


def parse_blocks(text: str) -> tuple[BlockSpec, ...]:
    """The blocks of a ``SOUNDALIKE_FUSION_BLOCKS`` value with a non-zero weight, in the order given.

    ConfigError names the part that is wrong: an unknown block or reduction, a weight that is not a
    finite number >= 0, a block given twice, or no block with a positive weight.
    """
    blocks: list[BlockSpec] = []
    seen: set[str] = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        fields = [f.strip() for f in part.split(":")]
        if len(fields) not in (2, 3):
            raise ConfigError(f"fusion block {part!r} is not name:weight or name:weight:reduction")
        name, weight_text = fields[0], fields[1]
        if name not in CODES:
            raise ConfigError(f"unknown fusion block {name!r}; expected one of {', '.join(BLOCK_NAMES)}")
        if name in seen:
            raise ConfigError(f"fusion block {name!r} is given twice")
        seen.add(name)
        try:
            weight = float(weight_text)
        except ValueError:
            raise ConfigError(f"fusion block {name!r} has weight {weight_text!r}, not a number") from None
        if not math.isfinite(weight) or weight < 0:
            raise ConfigError(f"fusion block {name!r} has weight {weight_text!r}; weights must be finite and >= 0")
        reduction, dims = _reduction(name, fields[2] if len(fields) == 3 else "std")
        if weight > 0:
            blocks.append(BlockSpec(name, weight, reduction, dims))
    if not blocks:
        raise ConfigError(f"fusion blocks {text!r} give no block a positive weight")
    return tuple(blocks)


def _reduction(name: str, text: str) -> tuple[str, int | None]:
    found = _REDUCTION.match(text)
    if found is None or (found.group(1) == "std" and found.group(2)):
        raise ConfigError(f"fusion block {name!r} has reduction {text!r}; expected std, pcaK, whiten or whitenK")
    dims = int(found.group(2)) if found.group(2) else None
    if dims == 0 or (found.group(1) == "pca" and dims is None):
        raise ConfigError(f"fusion block {name!r} has reduction {text!r}; pca needs a number of dimensions >= 1")
    return found.group(1), dims


def spec_text(blocks: tuple[BlockSpec, ...]) -> str:
    """The canonical text of parsed blocks: equal for settings that mean the same."""
    return ",".join(b.text() for b in blocks)


@dataclass(frozen=True)
class Layout:
    """Which block each stretch of a fused vector holds: (name, width) in order."""

    blocks: tuple[tuple[str, int], ...]

    @property
    def dim(self) -> int:
        """Width of the fused vector."""
        return sum(width for _, width in self.blocks)

    def slices(self) -> dict[str, slice]:
        """Each block's slice of a fused vector."""
        out, start = {}, 0
        for name, width in self.blocks:
            out[name] = slice(start, start + width)
            start += width
        return out

    def code(self) -> str:
        """Short form kept in the model version, e.g. ``mu1506.mf120``."""
        return ".".join(f"{CODES[name]}{width}" for name, width in self.blocks)


def layout_of(model_name: str, model_version: str) -> Layout | None:
    """The layout a fusion model version names; None for another model or a version of another format."""
    if model_name != MODEL_NAME:
        return None
    found = _VERSION.match(model_version)
    if found is None:
        return None
    names = {code: name for name, code in CODES.items()}
    return Layout(tuple((names[part[:2]], int(part[2:])) for part in found.group(1).split(".")))


def block_contributions(a: np.ndarray, b: np.ndarray, layout: Layout) -> dict[str, float]:
    """Each block's share of the cosine of two fused unit vectors (the shares sum to the cosine)."""
    if a.shape != (layout.dim,) or b.shape != (layout.dim,):
        raise ValueError(f"fused vectors of {layout.dim} dims expected, got {a.shape} and {b.shape}")
    return {name: float(a[part] @ b[part]) for name, part in layout.slices().items()}


@dataclass(frozen=True)
class BlockNormaliser:
    """A block's catalogue normalisation: standardisation, then an optional projection (PCA or whitening)."""

    standardiser: Standardiser
    projection: np.ndarray | None = None

    @property
    def width(self) -> int:
        """Dimensions the block has in the fused vector."""
        return int(self.standardiser.mean.shape[0] if self.projection is None else self.projection.shape[1])

    def apply(self, matrix: np.ndarray) -> np.ndarray:
        """Normalised rows (not yet unit-norm)."""
        z = self.standardiser.apply(matrix)
        return z if self.projection is None else z @ self.projection

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """The parameters by name, for ``np.savez``."""
        extra = {} if self.projection is None else {f"{prefix}projection": self.projection}
        return {**self.standardiser.arrays(prefix), **extra}


def fit_block(matrix: np.ndarray, spec: BlockSpec) -> BlockNormaliser:
    """Fit a block's normalisation on the catalogue's (n, d) matrix of it.

    PCA runs on at most ``MAX_PCA_ROWS`` rows drawn with a fixed seed; components with no variance are
    dropped (at least one is kept), and whitening divides each by its standard deviation.
    """
    standardiser = fit_standardiser(matrix)
    if spec.reduction == "std":
        return BlockNormaliser(standardiser)
    z = standardiser.apply(matrix)
    if len(z) > MAX_PCA_ROWS:
        z = z[np.random.default_rng(PCA_SEED).choice(len(z), MAX_PCA_ROWS, replace=False)]
    _, singular, components = np.linalg.svd(z - z.mean(axis=0), full_matrices=False)
    rank = max(1, int(np.sum(singular > max(float(singular[0]), 1e-12) * 1e-6))) if singular.size else 1
    keep = min(rank, spec.dims or rank)
    projection = components[:keep].T
    if spec.reduction == "whiten":
        spread = singular[:keep] / math.sqrt(max(len(z) - 1, 1))
        projection = projection / np.where(spread > 1e-12, spread, 1.0)
    return BlockNormaliser(standardiser, projection.astype(np.float32))


def fuse(blocks: list[tuple[np.ndarray, float]]) -> np.ndarray:
    """(n, D) unit rows from (normalised block matrix, weight) pairs: each block unit-norm times sqrt(weight)."""
    parts = [unit_rows(np.atleast_2d(matrix)) * math.sqrt(weight) for matrix, weight in blocks]
    return unit_rows(np.hstack(parts))


@dataclass(frozen=True)
class FittedFusion:
    """The blocks asked for and their normalisers fitted on the catalogue: what turns raw features into vectors."""

    blocks: tuple[BlockSpec, ...]
    normalisers: Mapping[str, BlockNormaliser]
    tracks: int
    """How many tracks the normalisers were fitted on."""

    @property
    def layout(self) -> Layout:
        """Block widths in the fused vector."""
        return Layout(tuple((b.name, self.normalisers[b.name].width) for b in self.blocks))

    @property
    def version(self) -> str:
        """Model version: format, fingerprint of the spec and every parameter, and the layout."""
        arrays = [a for b in self.blocks for a in self.normalisers[b.name].arrays("").values()]
        digest = fingerprint(np.frombuffer(spec_text(self.blocks).encode(), dtype=np.uint8), *arrays)
        return f"{FORMAT}-{digest}-{self.layout.code()}"

    def embed(self, raw: Mapping[str, np.ndarray]) -> np.ndarray:
        """(n, D) fused unit vectors from each block's (n, d) raw features."""
        return fuse([(self.normalisers[b.name].apply(raw[b.name]), b.weight) for b in self.blocks])


def fit_fusion(blocks: tuple[BlockSpec, ...], raw: Mapping[str, np.ndarray]) -> FittedFusion:
    """Fit every block's normaliser on the catalogue's raw features of it."""
    tracks = len(next(iter(raw.values()))) if raw else 0
    return FittedFusion(blocks, {b.name: fit_block(raw[b.name], b) for b in blocks}, tracks)


def still_fits(fitted: FittedFusion, tracks: int) -> bool:
    """Whether a fit made on ``fitted.tracks`` tracks still serves a catalogue of ``tracks``: it is refitted only
    when the catalogue grew or shrank by more than ``REFIT_FRACTION``, so adding a few tracks rewrites no vector."""
    return abs(tracks - fitted.tracks) <= REFIT_FRACTION * fitted.tracks


def save_fusion(fitted: FittedFusion, models_dir: Path) -> Path:
    """Write the spec and every block's parameters as one .npz next to the other models, atomically."""
    arrays = {k: v for b in fitted.blocks for k, v in fitted.normalisers[b.name].arrays(f"{b.name}.").items()}
    return atomic_write_npz(
        models_dir / FILE, {"spec": np.array(spec_text(fitted.blocks)), "tracks": np.array(fitted.tracks), **arrays}
    )


def load_fusion(models_dir: Path, blocks: tuple[BlockSpec, ...]) -> FittedFusion:
    """The normalisers fitted for ``blocks``: NotFoundError before the first ``index build``, ConfigError
    when the blocks were fitted for other settings."""
    path = models_dir / FILE
    if not path.exists():
        raise NotFoundError(f"{path} does not exist (run `soundalike index build` first)")
    with np.load(path, allow_pickle=False) as data:
        saved = str(data["spec"])
        if saved != spec_text(blocks):
            raise ConfigError(
                f"the fusion was fitted for blocks {saved!r}, the settings ask for {spec_text(blocks)!r} "
                "(run `soundalike index build`)"
            )
        normalisers = {
            b.name: BlockNormaliser(
                Standardiser.from_arrays(data, f"{b.name}."),
                data[f"{b.name}.projection"] if f"{b.name}.projection" in data else None,
            )
            for b in blocks
        }
        tracks = int(data["tracks"]) if "tracks" in data else 0
    return FittedFusion(blocks, normalisers, tracks)
