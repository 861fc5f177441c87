"""Settings from the environment (``SOUNDALIKE_*``), built by a function, never at import time."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

Device = Literal["auto", "cpu", "cuda"]
EmbeddingModelName = Literal["musicnn-msd", "mfcc-stats"]


class Settings(BaseSettings):
    """Where Soundalike keeps its data and which device it computes on."""

    model_config = SettingsConfigDict(env_prefix="SOUNDALIKE_", extra="ignore")

    home: Path = Path("soundalike-data")
    database_url: str | None = None
    device: Device = "auto"
    embedding_model: EmbeddingModelName = "musicnn-msd"
    sample_rate: int = 22050
    max_file_bytes: int = 2 * 1024**3

    @property
    def db_url(self) -> str:
        """The database URL: the configured one, or a SQLite file inside ``home``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'soundalike.db').resolve()}"

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
    """Build settings from the environment; ``home`` overrides ``SOUNDALIKE_HOME``."""
    settings = Settings() if home is None else Settings(home=home)
    settings.home.mkdir(parents=True, exist_ok=True)
    return settings
