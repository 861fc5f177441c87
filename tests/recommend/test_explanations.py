"""Explanations by block: which aspects of two fused vectors matched, and the sentence that names them."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from soundalike.embed.fusion import Layout, fuse
from soundalike.recommend.api.schemas import ResultsOut
from soundalike.recommend.results import PATH_DESCRIPTION, Aspect, Result, Why, matching_aspects

LAYOUT = Layout((("musicnn", 4), ("penultimate", 3), ("mfcc", 3), ("chroma", 2), ("rhythm", 2)))
WEIGHTS = {"musicnn": 1.0, "penultimate": 0.5, "mfcc": 0.5, "chroma": 0.25, "rhythm": 0.25}


def fused(blocks: dict[str, np.ndarray]) -> np.ndarray:
    return fuse([(blocks[name][None, :], WEIGHTS[name]) for name, _ in LAYOUT.blocks])[0]


def pair(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = {name: rng.standard_normal(width) for name, width in LAYOUT.blocks}
    b = {name: a[name] + rng.uniform(0.2, 2.0) * rng.standard_normal(width) for name, width in LAYOUT.blocks}
    return fused(a), fused(b)


@pytest.mark.parametrize("seed", range(5))
def test_aspects_sum_to_the_cosine_best_first_with_the_style_blocks_together(seed: int) -> None:
    a, b = pair(seed)
    aspects = matching_aspects(LAYOUT, a, b)
    assert sorted(x.aspect for x in aspects) == ["harmony", "rhythm", "style", "timbre"]
    assert sum(x.score for x in aspects) == pytest.approx(float(a @ b), abs=1e-5)
    scores = [x.score for x in aspects]
    assert scores == sorted(scores, reverse=True)
    style = float(a[0:7] @ b[0:7])
    assert next(x.score for x in aspects if x.aspect == "style") == pytest.approx(style, abs=1e-5)


def test_identical_blocks_score_their_weight_share() -> None:
    a, _ = pair(9)
    aspects = {x.aspect: x.score for x in matching_aspects(LAYOUT, a, a)}
    total = sum(WEIGHTS.values())
    assert aspects["style"] == pytest.approx(1.5 / total, abs=1e-5)
    assert aspects["timbre"] == pytest.approx(0.5 / total, abs=1e-5)
    assert aspects["harmony"] == aspects["rhythm"] == pytest.approx(0.25 / total, abs=1e-5)


def test_without_a_fusion_layout_there_are_no_aspects() -> None:
    a, b = pair(1)
    assert matching_aspects(None, a, b) == []


def test_the_sentence_names_the_leading_aspects() -> None:
    both = Why("like seed", 3, 0.8, aspects=[Aspect("style", 0.5), Aspect("timbre", 0.3), Aspect("rhythm", 0.1)])
    assert both.text == "like seed 3; similarity 0.80; mostly style and timbre"
    one = Why("like seed", 3, 0.6, aspects=[Aspect("style", 0.5), Aspect("timbre", 0.1)])
    assert one.text == "like seed 3; similarity 0.60; mostly style"
    nothing = Why("like seed", 3, -0.2, aspects=[Aspect("style", -0.1), Aspect("timbre", -0.1)])
    assert "mostly" not in nothing.text
    assert "mostly" not in Why("like seed", 3, 0.9).text


def test_the_sentence_says_same_tempo_under_half_a_beat_per_minute_apart() -> None:
    assert (
        Why("like seed", 3, 0.5, tempo_delta=0.4, same_key=True).text
        == "like seed 3; similarity 0.50; same tempo; same key"
    )
    assert Why("like seed", 3, 0.5, tempo_delta=-2.6).text.endswith("; tempo within 3 bpm")


def test_aspects_are_part_of_the_json_form() -> None:
    why = Why("like seed", 3, 0.8, aspects=[Aspect("harmony", 0.5)])
    data = Result(1, "a.ogg", 0.8, None, None, None, why=why).as_dict()
    assert data["why"]["aspects"] == [{"aspect": "harmony", "score": 0.5}]  # type: ignore[index]
    assert data["why"]["text"].endswith("mostly harmony")  # type: ignore[index]


def test_the_api_result_schema_is_the_result_dataclass_with_the_reason_text() -> None:
    defs = ResultsOut.model_json_schema(mode="serialization")["$defs"]
    assert list(defs["Result"]["properties"]) == [f.name for f in fields(Result)]
    assert list(defs["Why"]["properties"]) == [f.name for f in fields(Why)] + ["text"]
    assert defs["Result"]["properties"]["path"]["description"] == PATH_DESCRIPTION


def test_the_api_returns_a_result_exactly_as_its_json_form() -> None:
    why = Why("like seed", 3, 0.8, shared_genres=["jazz"], aspects=[Aspect("timbre", 0.4)])
    result = Result(1, "caf\ufffd.ogg", 0.8, "t", None, "al", 1999, 120.0, "C major", ["jazz"], why, "Y2Fm6S5vZ2c=")
    served = ResultsOut.model_validate({"results": [result.as_dict()]}).model_dump(mode="json")
    assert served["results"] == [result.as_dict()]
