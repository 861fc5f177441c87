"""Catalogue facts of a track and the pure filters applied to candidates."""

from __future__ import annotations

from dataclasses import dataclass, field

from soundalike.ingest.errors import InputError


@dataclass(frozen=True)
class TrackFacts:
    """What ranking and explanations read about a track; tempo and key may be unknown (None)."""

    track_id: int
    path: str
    title: str | None = None
    artist: str | None = None
    album: str | None = None
    year: int | None = None
    tempo: float | None = None
    key: str | None = None
    duplicate_of_id: int | None = None
    status: str = "ok"
    genres: frozenset[str] = frozenset()

    @property
    def canonical(self) -> int:
        """The track whose audio this is: ``duplicate_of_id`` when set, else itself."""
        return self.duplicate_of_id if self.duplicate_of_id is not None else self.track_id


@dataclass(frozen=True)
class Filters:
    """Constraints on recommended tracks; a track whose field is unknown fails a constraint on that field."""

    genres: frozenset[str] = frozenset()
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
        tempo_min: float | None = None,
        tempo_max: float | None = None,
        keys: list[str] | None = None,
        year_min: int | None = None,
        year_max: int | None = None,
        exclude: list[int] | None = None,
    ) -> Filters:
        """Filters from loose inputs: genre and key names are normalised (lower case, trimmed)."""
        return cls(
            genres=frozenset(g.strip().lower() for g in genres or () if g.strip()),
            tempo_min=tempo_min,
            tempo_max=tempo_max,
            keys=frozenset(k.strip().lower() for k in keys or () if k.strip()),
            year_min=year_min,
            year_max=year_max,
            exclude=frozenset(exclude or ()),
        )

    def accepts(self, facts: TrackFacts) -> bool:
        """Whether a track passes every constraint (and is a playable, non-excluded track)."""
        if facts.status != "ok" or facts.track_id in self.exclude or facts.canonical in self.exclude:
            return False
        if self.genres and not (self.genres & facts.genres):
            return False
        if self.keys and (facts.key is None or facts.key.strip().lower() not in self.keys):
            return False
        if not _within(facts.tempo, self.tempo_min, self.tempo_max):
            return False
        return _within(facts.year, self.year_min, self.year_max)


def _within(value: float | None, low: float | None, high: float | None) -> bool:
    if low is None and high is None:
        return True
    if value is None:
        return False
    return (low is None or value >= low) and (high is None or value <= high)
