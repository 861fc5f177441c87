"""Constraints on recommended tracks; ``TrackTable.accepts`` applies them to candidate rows."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from soundalike.ingest.errors import InputError
from soundalike.ingest.tags import normalise_genre
from soundalike.recommend.moods import mood_name


@dataclass(frozen=True)
class Filters:
    """Constraints on recommended tracks; a track whose field is unknown fails a constraint on that field."""

    genres: frozenset[str] = frozenset()
    moods: frozenset[str] = frozenset()
    """Keep tracks that carry every one of these moods (``recommend/moods.py`` names)."""
    tempo_min: float | None = None
    tempo_max: float | None = None
    keys: frozenset[str] = frozenset()
    year_min: int | None = None
    year_max: int | None = None
    exclude: frozenset[int] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        """Refuse empty ranges with a message naming the values."""
        if self.tempo_min is not None and self.tempo_max is not None and self.tempo_min > self.tempo_max:
            raise InputError(f"tempo range is empty: min {self.tempo_min} > max {self.tempo_max}")
        if self.year_min is not None and self.year_max is not None and self.year_min > self.year_max:
            raise InputError(f"year range is empty: min {self.year_min} > max {self.year_max}")

    @classmethod
    def build(
        cls,
        *,
        genres: list[str] | None = None,
        moods: list[str] | None = None,
        tempo_min: float | None = None,
        tempo_max: float | None = None,
        keys: list[str] | None = None,
        year_min: int | None = None,
        year_max: int | None = None,
        exclude: list[int] | None = None,
    ) -> Filters:
        """Filters from loose inputs: genre names are normalised (``normalise_genre``), key names lower-cased and
        trimmed, mood names resolved (``mood_name``: an unknown mood is an InputError); a tempo that is not a finite
        non-negative number, or a range whose ends are swapped, is an InputError."""
        for name, value in (("tempo_min", tempo_min), ("tempo_max", tempo_max)):
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise InputError(f"{name} must be a finite number >= 0, got {value}")
        for low, high, what in ((tempo_min, tempo_max, "tempo"), (year_min, year_max, "year")):
            if low is not None and high is not None and low > high:
                raise InputError(f"{what} range is empty: minimum {low} > maximum {high}")
        return cls(
            genres=frozenset(normalise_genre(g) for g in genres or () if g.strip()),
            moods=frozenset(mood_name(m) for m in moods or () if m.strip()),
            tempo_min=tempo_min,
            tempo_max=tempo_max,
            keys=frozenset(k.strip().lower() for k in keys or () if k.strip()),
            year_min=year_min,
            year_max=year_max,
            exclude=frozenset(exclude or ()),
        )
