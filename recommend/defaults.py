"""Request defaults and caps shared by the CLI and the HTTP API, so each number is written once."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Defaults:
    """What a request gets when it does not say, and the most it may ask for."""

    k: int = 10
    max_results: int = 500
    similar_diversity: float = 0.0
    playlist_length: int = 20
    half_life_days: float = 30.0
    playlist_diversity: float = 0.3
    playlist_artist_cap: int = 2
    max_artist_cap: int = 100
    path_steps: int = 10
    max_path_steps: int = 200


DEFAULTS = Defaults()
