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
    max_half_life_days: float = 36500.0
    max_offset: int = 10**9
    max_page: int = 10**6
    max_job_id: int = 10**9
    max_tempo: float = 1000.0
    max_year: int = 3000
    max_events_per_request: int = 10_000
    max_key_length: int = 512
    max_next_page_length: int = 2000


DEFAULTS = Defaults()
