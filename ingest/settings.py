"""Settings from the environment (``SOUNDALIKE_*``), built by a function, never at import time."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from platformdirs import user_cache_path
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from soundalike.ingest.errors import ConfigError

Device = Literal["auto", "cpu", "cuda"]
FeatureExtractor = Literal["auto", "librosa", "torch"]
EmbeddingModelName = Literal[
    "musicnn-msd", "mfcc-stats", "cnn-trained", "musicnn-adapted", "fusion", "fusion-projected"
]
CnnRuntime = Literal["auto", "torch", "compile", "onnx", "onnx-int8", "student"]
IndexKind = Literal["auto", "flat", "hnsw", "ivf_flat", "ivf_sq8", "ivf_pq"]
GenreTagger = Literal["head", "spreading", "combined"]


class Settings(BaseSettings):
    """Where Soundalike keeps its data and which device it computes on."""

    model_config = SettingsConfigDict(env_prefix="SOUNDALIKE_", extra="ignore")

    home: Path = Path("soundalike-data")
    database_url: str | None = None
    device: Device = "auto"
    feature_extractor: FeatureExtractor = "auto"
    embedding_model: EmbeddingModelName = "fusion"
    """The default was chosen on real recordings (bench/RESULTS.md, "Quality on real recordings")."""
    fusion_blocks: str = "musicnn:1,penultimate:0.5,mfcc:0.5,chroma:0.25,rhythm:0.1"
    """The ``fusion`` model's blocks: ``name:weight[:reduction]``, comma-separated (see ``embed/fusion.py``)."""
    cnn_runtime: CnnRuntime = "auto"
    """How MusiCNN runs on a CPU (``embed/musicnn_runtime.py``): ``auto`` is ``student``, the distilled student's
    approximation of its outputs (``embed/student.py``), vectors of their own version, within a point of the full
    model on held-out packages at several times its speed (bench/RESULTS.md); ``onnx`` is the full model through
    ONNX Runtime fp32, the same vectors as torch at about twice its speed; CUDA always runs eager torch."""
    cache_dir: Path = Field(default_factory=lambda: user_cache_path("soundalike"))
    """Files derived from the shipped weights (the ONNX export), shared by every home of this user."""
    musicnn_patches: int = Field(default=8, ge=1)
    """Most 3 s patches MusiCNN encodes per track (``embed/musicnn_frontend.py``); fewer is faster on short clips."""
    genre_tagger: GenreTagger = "combined"
    """What ``genres train`` fits and ``genres predict`` calls with: the genre head, label spreading over the
    catalogue's neighbour graph, or both combined (see ``embed/genre_head.py``); ``combined`` won on every
    held-out package of the real-recording benchmark (bench/RESULTS.md)."""
    segment_weight: float = 0.0
    """Similar tracks re-ranked by their best-matching segments: the weight in [0, 1] of the best segment cosine
    mixed with the track's score (0: off; see ``embed/segments.py``)."""
    sample_rate: int = 22050
    max_file_bytes: int = 2 * 1024**3
    ingest_batch_size: int = Field(default=16, ge=1)
    follow_symlinks: bool = False
    """Ingest follows symlinks that lead out of the folders it is given, and the server plays such files."""
    schedule_roots: str = ""
    schedule_interval_minutes: float | None = Field(default=None, gt=0)
    schedule_cron: str | None = None
    index_kind: IndexKind = "auto"
    index_recall_target: float = 0.95
    index_stale_fraction: float = 0.1
    index_shards: int = 1
    admin_token: SecretStr | None = None
    open_reads: bool | None = None
    allowed_hosts: str = ""
    """Names the server answers in ``Host`` besides loopback and its interface, comma-separated (``*``: any)."""
    reload_cooldown_s: float = Field(default=5.0, ge=0)
    index_watch_s: float = Field(default=2.0, ge=0)
    health_check_s: float = Field(default=30.0, gt=0)
    """How often a server process checks the database's integrity and writability (``/health``)."""
    subsonic_path_map: str = ""
    workers: int = Field(default=1, ge=1)
    """Server processes (``serve --workers`` sets it); they share ``db_connections`` between them."""
    db_connections: int = Field(default=32, ge=1)
    """Database connections all server processes hold together at most."""
    db_wait_s: float = Field(default=2.0, gt=0)
    """Longest a request waits for a free database connection (or SQLite's write lock) before it is answered 503
    with Retry-After."""
    max_requests: int = Field(default=8, ge=1)
    """Requests one server process works on at once (more only queue for the GIL); the rest wait in line, never
    ``/health``."""
    max_waiting: int = Field(default=256, ge=0)
    """Requests one server process lets wait in line; beyond it a request is answered 503 with Retry-After."""
    queue_wait_s: float = Field(default=10.0, gt=0)
    """Longest a request waits in line before it is answered 503 with Retry-After."""

    @field_validator("segment_weight", mode="before")
    @classmethod
    def _segment_weight(cls, value: object) -> float:
        try:
            weight = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ConfigError(f"SOUNDALIKE_SEGMENT_WEIGHT is {value!r}, not a number") from None
        if not 0.0 <= weight <= 1.0:
            raise ConfigError(f"SOUNDALIKE_SEGMENT_WEIGHT is {value!r}; it must be between 0 (off) and 1")
        return weight

    @property
    def db_url(self) -> str:
        """The database URL: the configured one, or a SQLite file inside ``home``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'soundalike.db').resolve()}"

    @property
    def schedule_root_paths(self) -> list[Path]:
        """Folders the scheduler ingests: ``schedule_roots`` split on the path separator (``:``)."""
        return [Path(p) for p in self.schedule_roots.split(os.pathsep) if p.strip()]

    @property
    def allowed_host_names(self) -> list[str]:
        """``allowed_hosts`` split on commas."""
        return [name.strip() for name in self.allowed_hosts.split(",") if name.strip()]

    @property
    def index_dir(self) -> Path:
        """Folder of FAISS index files and their JSON sidecars."""
        return self.home / "index"

    @property
    def models_dir(self) -> Path:
        """Folder of trained models and fitted scalers."""
        return self.home / "models"

    @property
    def plots_dir(self) -> Path:
        """Folder of PNG plots."""
        return self.home / "plots"


def load_settings(home: Path | None = None) -> Settings:
    """Build settings from the environment; ``home`` overrides ``SOUNDALIKE_HOME``. A value the settings refuse is
    a ``ConfigError`` naming its variable."""
    try:
        settings = Settings() if home is None else Settings(home=home)
    except ValidationError as exc:
        problems = [
            f"SOUNDALIKE_{'_'.join(str(part) for part in error['loc']).upper()}={error['input']!r}: {error['msg']}"
            for error in exc.errors()
        ]
        raise ConfigError("; ".join(problems)) from exc
    if settings.home.exists() and not settings.home.is_dir():
        raise ConfigError(f"the data folder {settings.home} is a file, not a folder (--home or SOUNDALIKE_HOME)")
    settings.home.mkdir(parents=True, exist_ok=True)
    return settings
