"""Ranked tracks as result rows, each with the reason it was chosen.

These dataclasses are also the HTTP API's response schema (``api/schemas.py`` lists them as they are), so each
field is written once; ``Field`` adds the description the API documents.
"""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field
from typing import Annotated

import numpy as np
from pydantic import Field, computed_field

from soundalike.embed.fusion import ASPECTS, Layout, block_contributions
from soundalike.ingest.paths import exact_path_b64, readable_path
from soundalike.recommend.facts import TrackFacts

TEMPO_CLOSE_BPM = 8.0
SECOND_ASPECT_SHARE = 0.5
"""The second aspect is named beside the first when it scores at least this share of the first."""
PATH_DESCRIPTION = "The file name as text; a byte that is not UTF-8 shows as U+FFFD."
PATH_BYTES_DESCRIPTION = "Base64 of the file name's exact bytes when they are not valid UTF-8, else null."


@dataclass(frozen=True)
class Aspect:
    """One aspect of a match (style, timbre, harmony, rhythm) and its share of the similarity."""

    aspect: Annotated[str, Field(description="style, timbre, harmony or rhythm")]
    score: float


def matching_aspects(layout: Layout | None, track: np.ndarray, anchor: np.ndarray) -> list[Aspect]:
    """The aspects of the fused vectors' cosine, best first, from the blocks that scored it; the scores sum to
    the cosine. Empty without a fusion layout (another embedding model has no blocks)."""
    if layout is None:
        return []
    totals: dict[str, float] = {}
    for block, share in block_contributions(track, anchor, layout).items():
        totals[ASPECTS[block]] = totals.get(ASPECTS[block], 0.0) + share
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    return [Aspect(name, round(score, 6)) for name, score in ranked]


def leading_aspects(aspects: list[Aspect]) -> list[str]:
    """The aspect that matched most, and the second when it scored at least ``SECOND_ASPECT_SHARE`` of the first."""
    positive = [a for a in aspects if a.score > 0]
    if not positive:
        return []
    first, rest = positive[0], positive[1:2]
    return [first.aspect] + [a.aspect for a in rest if a.score >= SECOND_ASPECT_SHARE * first.score]


@dataclass(frozen=True)
class Why:
    """Why a track was recommended: the seed, history track or cluster it is close to, and what they share."""

    basis: str
    anchor_track_id: int | None = None
    similarity: float | None = None
    cluster: int | None = None
    shared_genres: list[str] = field(default_factory=list)
    tempo_delta: float | None = None
    same_key: bool | None = None
    aspects: Annotated[
        list[Aspect],
        Field(description="What matched, best first, when the embedding model is fusion (scores sum to the cosine)"),
    ] = field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def text(self) -> str:
        """The reason as one human-readable line."""
        parts = [self.basis if self.anchor_track_id is None else f"{self.basis} {self.anchor_track_id}"]
        if self.similarity is not None:
            parts.append(f"similarity {self.similarity:.2f}")
        leading = leading_aspects(self.aspects)
        if leading:
            parts.append("mostly " + " and ".join(leading))
        if self.shared_genres:
            parts.append("shares " + ", ".join(self.shared_genres))
        if self.tempo_delta is not None and abs(self.tempo_delta) <= TEMPO_CLOSE_BPM:
            apart = round(abs(self.tempo_delta))
            parts.append(f"tempo within {apart} bpm" if apart else "same tempo")
        if self.same_key:
            parts.append("same key")
        return "; ".join(parts)


def explain(
    basis: str,
    track: TrackFacts,
    anchor: TrackFacts | None,
    similarity: float | None,
    *,
    cluster: int | None = None,
    aspects: list[Aspect] | None = None,
) -> Why:
    """The reason for ``track``: closeness to ``anchor`` (a seed or history track), shared genres, tempo and key,
    and which ``aspects`` of the sound matched (``matching_aspects``)."""
    aspects = aspects or []
    if anchor is None:
        return Why(basis=basis, similarity=_round(similarity), cluster=cluster, aspects=aspects)
    tempo_delta = None if track.tempo is None or anchor.tempo is None else round(track.tempo - anchor.tempo, 2)
    same_key = None if track.key is None or anchor.key is None else track.key.lower() == anchor.key.lower()
    return Why(
        basis=basis,
        anchor_track_id=anchor.track_id,
        similarity=_round(similarity),
        cluster=cluster,
        shared_genres=sorted(track.genres & anchor.genres),
        tempo_delta=tempo_delta,
        same_key=same_key,
        aspects=aspects,
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


@dataclass(frozen=True)
class Result:
    """One ranked track, as printed by ``similar`` and ``recommend`` and returned by the API.

    ``path`` is readable text (a byte of the file name that is not UTF-8 shows as U+FFFD); when the name
    is not valid UTF-8, ``path_bytes`` holds its exact bytes in base64 (else it is None).
    """

    track_id: int
    path: Annotated[str, Field(description=PATH_DESCRIPTION)]
    score: float
    title: str | None
    artist: str | None
    album: str | None
    year: int | None = None
    tempo: float | None = None
    key: str | None = None
    genres: list[str] = field(default_factory=list)
    why: Why | None = None
    path_bytes: Annotated[str | None, Field(description=PATH_BYTES_DESCRIPTION)] = None

    def file_bytes(self) -> bytes:
        """The exact bytes of the track's file name."""
        return self.path.encode("utf-8") if self.path_bytes is None else base64.b64decode(self.path_bytes)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form (``why`` gains its ``text``)."""
        data = asdict(self)
        if self.why is not None:
            data["why"]["text"] = self.why.text
        return data


def result_of(facts: TrackFacts, score: float, why: Why | None = None) -> Result:
    """A result row from catalogue facts."""
    return Result(
        track_id=facts.track_id,
        path=readable_path(facts.path),
        path_bytes=exact_path_b64(facts.path),
        score=round(float(score), 6),
        title=facts.title,
        artist=facts.artist,
        album=facts.album,
        year=facts.year,
        tempo=facts.tempo,
        key=facts.key,
        genres=sorted(facts.genres),
        why=why,
    )
