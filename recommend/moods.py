"""Moods and descriptors: MusiCNN's tag probabilities as facets calibrated on the catalogue, and a word search.

Vocabulary: the 50 tags of the MSD checkpoint (the network the default ``fusion`` model runs during ingest and
whose mean tag probabilities it stores as the feature ``musicnn_tags``), lower-cased (``MOODS``), and a few
plain words for some of them (``ALIASES``: *calm* is *mellow*).

Calibration, per tag over the catalogue's tracks that have tags: a track carries the mood when its probability
is above the tag's ``FACET_QUANTILE`` quantile (so at most the top ``1 - FACET_QUANTILE`` of tracks carry any one
mood, and a tag scored alike everywhere is on none) and at least ``MIN_PROBABILITY`` (a tag the network hardly
hears anywhere is on no track). A curator's accept or reject overrides the facet.

Word search scores a track by the mean, over the named moods, of its percentile in that tag (the share of the
catalogue it scores at least as high as), so tags on different scales weigh alike; an accepted mood counts 1,
a rejected one 0.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from soundalike.embed.musicnn import MSD_TAGS
from soundalike.ingest.errors import InputError

MOODS: tuple[str, ...] = tuple(t.lower() for t in MSD_TAGS)
MOOD_INDEX = {name: i for i, name in enumerate(MOODS)}
ALIASES = {
    "calm": "mellow",
    "relaxed": "chill",
    "relaxing": "chill",
    "upbeat": "happy",
    "cheerful": "happy",
    "melancholic": "sad",
    "danceable": "dance",
    "guitars": "guitar",
    "hip hop": "hip-hop",
    "r&b": "rnb",
}
FILLER = frozenset({"a", "an", "and", "the", "with", "of", "some", "music", "songs", "tracks"})
FACET_QUANTILE = 0.8
MIN_PROBABILITY = 0.1
LONGEST_PHRASE = max(len(m.split()) for m in (*MOODS, *ALIASES))


def known_moods() -> str:
    """The mood names and aliases, for error messages."""
    return ", ".join(sorted({*MOODS, *ALIASES}))


def mood_name(name: str) -> str:
    """The vocabulary's name of a mood or alias (case and spacing ignored); an unknown name is an InputError
    naming the known moods."""
    key = " ".join(name.lower().split())
    key = ALIASES.get(key, key)
    if key not in MOOD_INDEX:
        raise InputError(f"unknown mood {name!r}; known moods: {known_moods()}")
    return key


def describe_terms(text: str) -> tuple[str, ...]:
    """The moods a description names, in order, without repeats: longest phrases first ("female vocalists"),
    filler words ("and", "with") skipped; a word that names no mood is an InputError naming the known moods."""
    words = re.findall(r"[\w&-]+", text.lower())
    found: list[str] = []
    unknown: list[str] = []
    i = 0
    while i < len(words):
        for j in range(min(len(words), i + LONGEST_PHRASE), i, -1):
            phrase = " ".join(words[i:j])
            if phrase in MOOD_INDEX or phrase in ALIASES:
                found.append(ALIASES.get(phrase, phrase))
                i = j
                break
        else:
            if words[i] not in FILLER:
                unknown.append(words[i])
            i += 1
    if unknown:
        raise InputError(f"no mood named {', '.join(repr(w) for w in unknown)}; known moods: {known_moods()}")
    if not found:
        raise InputError(f"the description names no mood; known moods: {known_moods()}")
    return tuple(dict.fromkeys(found))


def thresholds(probability: np.ndarray) -> np.ndarray:
    """Per tag, the probability a track must exceed to carry the mood: the tag's ``FACET_QUANTILE`` quantile over
    the rows with tags (NaN rows have none), never below ``MIN_PROBABILITY``."""
    tagged = probability[~np.isnan(probability).any(axis=1)]
    if len(tagged) == 0:
        return np.ones(probability.shape[1], dtype=np.float32)
    return np.maximum(np.quantile(tagged, FACET_QUANTILE, axis=0), MIN_PROBABILITY).astype(np.float32)


def percentiles(probability: np.ndarray) -> np.ndarray:
    """Per tag, the share of tagged rows each row scores at least as high as (0 for a row without tags); float16,
    which is exact enough for ranking and halves the table held in memory."""
    untagged = np.isnan(probability).any(axis=1)
    tagged = probability[~untagged]
    out = np.zeros(probability.shape, dtype=np.float16)
    if len(tagged) == 0:
        return out
    for m in range(probability.shape[1]):
        column = np.sort(tagged[:, m])
        out[~untagged, m] = np.searchsorted(column, tagged[:, m], side="right") / len(column)
    return out


@dataclass(frozen=True)
class MoodTable:
    """Moods of the rows of a track table: facets (bool) and percentiles per tag, curator verdicts applied."""

    facet: np.ndarray
    """(n, len(MOODS)) whether each row carries each mood."""
    rank: np.ndarray
    """(n, len(MOODS)) percentile of each row in each tag."""
    threshold: np.ndarray
    """(len(MOODS),) the calibrated probability above which a track carries each mood."""

    @classmethod
    def build(cls, probability: np.ndarray, verdicts: Mapping[tuple[int, str], bool] | None = None) -> MoodTable:
        """Calibrate on ``probability`` ((n, len(MOODS)), NaN rows for tracks without tags); ``verdicts`` maps
        (row, mood) to a curator's accept (True) or reject (False)."""
        if probability.ndim != 2 or probability.shape[1] != len(MOODS):
            raise InputError(f"mood probabilities must be (n, {len(MOODS)}), got {probability.shape}")
        threshold = thresholds(probability)
        with np.errstate(invalid="ignore"):
            facet = probability > threshold
        rank = percentiles(probability)
        table = cls(facet, rank, threshold)
        for (row, mood), accepted in (verdicts or {}).items():
            table.apply(row, mood, accepted=accepted)
        return table

    def apply(self, row: int, mood: str, *, accepted: bool) -> None:
        """A curator's verdict on one row's mood: it carries the mood, at the top percentile, or not at all."""
        self.facet[row, MOOD_INDEX[mood]] = accepted
        self.rank[row, MOOD_INDEX[mood]] = 1.0 if accepted else 0.0

    @classmethod
    def empty(cls, n: int) -> MoodTable:
        """No moods on any of ``n`` rows (a catalogue without tag probabilities)."""
        return cls.build(np.full((n, len(MOODS)), np.nan, dtype=np.float32))

    def has_all(self, moods: Iterable[str], rows: np.ndarray) -> np.ndarray:
        """Whether each row carries every one of ``moods``."""
        return np.asarray(self.facet[rows][:, _columns(moods)].all(axis=1))

    def of_row(self, row: int) -> list[str]:
        """The moods a row carries, in vocabulary order."""
        return [MOODS[m] for m in np.flatnonzero(self.facet[row])]

    def score(self, moods: Iterable[str], rows: np.ndarray) -> np.ndarray:
        """Mean percentile of each row over ``moods``: how strongly it carries all of them."""
        return np.asarray(self.rank[rows][:, _columns(moods)].astype(np.float32).mean(axis=1))

    def facets(self) -> list[dict[str, object]]:
        """Each mood with how many rows carry it and its calibrated threshold, in vocabulary order."""
        counts = self.facet.sum(axis=0)
        return [
            {"mood": m, "tracks": int(counts[i]), "threshold": round(float(self.threshold[i]), 6)}
            for i, m in enumerate(MOODS)
        ]


def _columns(moods: Iterable[str]) -> np.ndarray:
    return np.array([MOOD_INDEX[m] for m in moods], dtype=np.int64)
