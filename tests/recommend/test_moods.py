"""Moods as pure functions: names and aliases, descriptions in words, facets calibrated per tag, verdicts."""

from __future__ import annotations

import numpy as np
import pytest

from soundalike.ingest.errors import InputError
from soundalike.recommend.moods import FACET_QUANTILE, MOOD_INDEX, MOODS, MoodTable, describe_terms, mood_name


def test_mood_names_ignore_case_and_resolve_aliases() -> None:
    assert mood_name("  Mellow ") == "mellow"
    assert mood_name("calm") == "mellow"
    assert mood_name("Female   Vocalists") == "female vocalists"


def test_an_unknown_mood_is_an_input_error_naming_the_known_ones() -> None:
    with pytest.raises(InputError, match="unknown mood 'grumpy'.*known moods: .*mellow"):
        mood_name("grumpy")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mellow guitar", ("mellow", "guitar")),
        ("Female vocalists and easy listening", ("female vocalists", "easy listening")),
        ("calm, mellow hip-hop", ("mellow", "hip-hop")),
        ("some chill music with guitars", ("chill", "guitar")),
    ],
)
def test_a_description_names_moods_longest_phrase_first(text: str, expected: tuple[str, ...]) -> None:
    assert describe_terms(text) == expected


def test_a_word_that_names_no_mood_is_refused_by_name() -> None:
    with pytest.raises(InputError, match="no mood named 'kazoo'.*known moods"):
        describe_terms("mellow kazoo")
    with pytest.raises(InputError, match="names no mood"):
        describe_terms("the and with")


def test_no_facet_is_on_more_than_the_calibrated_share_of_tracks() -> None:
    probability = np.random.default_rng(0).random((500, len(MOODS))).astype(np.float32)
    share = MoodTable.build(probability).facet.mean(axis=0)
    assert share.max() <= 1 - FACET_QUANTILE + 0.01
    assert share.min() > 0


def test_a_tag_scored_alike_or_faintly_everywhere_is_on_no_track() -> None:
    rng = np.random.default_rng(1)
    probability = rng.random((100, len(MOODS))).astype(np.float32)
    probability[:, MOOD_INDEX["sad"]] = 0.7
    probability[:, MOOD_INDEX["metal"]] = 0.04 * rng.random(100)
    facets = MoodTable.build(probability).facets()
    counts = {f["mood"]: f["tracks"] for f in facets}
    assert counts["sad"] == 0 and counts["metal"] == 0 and counts["mellow"] > 0


def test_curator_verdicts_override_the_facet_and_the_search_score() -> None:
    probability = np.tile(np.linspace(0, 1, 10, dtype=np.float32)[:, None], (1, len(MOODS)))
    table = MoodTable.build(probability, {(0, "mellow"): True, (9, "mellow"): False})
    rows = np.arange(10)
    carries = table.has_all(["mellow"], rows)
    assert carries[0] and not carries[9]
    scores = table.score(["mellow"], rows)
    assert scores[0] == 1.0 and scores[9] == 0.0


def test_tracks_without_tags_carry_no_mood_and_score_zero() -> None:
    probability = np.random.default_rng(2).random((20, len(MOODS))).astype(np.float32)
    probability[3] = np.nan
    table = MoodTable.build(probability)
    assert table.of_row(3) == [] and table.score(["mellow", "chill"], np.array([3]))[0] == 0


def test_probabilities_of_the_wrong_width_are_refused() -> None:
    with pytest.raises(InputError, match="must be"):
        MoodTable.build(np.zeros((4, 10), dtype=np.float32))
