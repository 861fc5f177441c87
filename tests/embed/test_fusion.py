"""The fusion embedding's arithmetic: weighted blocks, their settings, normalisation, versions and layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from soundalike.embed.fusion import (
    BlockSpec,
    Layout,
    block_contributions,
    fit_fusion,
    layout_of,
    load_fusion,
    parse_blocks,
    save_fusion,
)
from soundalike.embed.models import embedding_model
from soundalike.embed.unit_norm import unit_rows
from soundalike.ingest.errors import ConfigError, NotFoundError
from soundalike.ingest.settings import Settings

WIDTHS = {"musicnn": 30, "mfcc": 12, "chroma": 24, "rhythm": 3}


def catalogue(n: int = 40, seed: int = 3) -> dict[str, np.ndarray]:
    """Raw block features of ``n`` tracks on very different scales, as the stored features are."""
    rng = np.random.default_rng(seed)
    return {
        name: (rng.standard_normal((n, width)) * rng.uniform(0.1, 50, width) + rng.uniform(-5, 5, width))
        for name, width in WIDTHS.items()
    }


def test_cosine_of_fused_vectors_is_the_weighted_mean_of_block_cosines() -> None:
    blocks = parse_blocks("musicnn:1,mfcc:0.5,chroma:0.25,rhythm:0.1")
    raw = catalogue()
    fitted = fit_fusion(blocks, raw)
    fused = fitted.embed(raw)
    assert fused.shape == (40, sum(WIDTHS.values()))
    np.testing.assert_allclose(np.linalg.norm(fused, axis=1), 1.0, atol=1e-5)
    total = sum(b.weight for b in blocks)
    for i, j in ((0, 1), (2, 7), (5, 39)):
        per_block = {}
        for b in blocks:
            z = unit_rows(fitted.normalisers[b.name].apply(raw[b.name][[i, j]]))
            per_block[b.name] = float(z[0] @ z[1])
        expected = sum(b.weight * per_block[b.name] for b in blocks) / total
        assert float(fused[i] @ fused[j]) == pytest.approx(expected, abs=1e-5)
        shares = block_contributions(fused[i], fused[j], fitted.layout)
        assert sum(shares.values()) == pytest.approx(float(fused[i] @ fused[j]), abs=1e-5)
        for b in blocks:
            assert shares[b.name] == pytest.approx(b.weight * per_block[b.name] / total, abs=1e-5)


def test_a_zero_weight_removes_the_block() -> None:
    raw = catalogue()
    without = parse_blocks("mfcc:1,chroma:0.5,rhythm:0")
    assert [b.name for b in without] == ["mfcc", "chroma"]
    alone = fit_fusion(parse_blocks("mfcc:1,chroma:0.5"), raw)
    np.testing.assert_allclose(fit_fusion(without, raw).embed(raw), alone.embed(raw), atol=1e-6)
    assert fit_fusion(without, raw).version == alone.version


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("timbre:1", "unknown fusion block 'timbre'"),
        ("mfcc:loud", "not a number"),
        ("mfcc:-1", "finite and >= 0"),
        ("mfcc:nan", "finite and >= 0"),
        ("mfcc:1,mfcc:2", "given twice"),
        ("mfcc:0,chroma:0", "no block a positive weight"),
        ("", "no block a positive weight"),
        ("mfcc", "name:weight"),
        ("mfcc:1:pca", "pca needs a number"),
        ("mfcc:1:pca0", "pca needs a number"),
        ("mfcc:1:std4", "expected std, pcaK, whiten or whitenK"),
        ("mfcc:1:zca", "expected std, pcaK, whiten or whitenK"),
    ],
)
def test_bad_block_settings_are_config_errors_naming_the_part(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_blocks(text)


def test_the_fusion_model_refuses_bad_blocks_when_it_is_made(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, embedding_model="fusion", fusion_blocks="mfcc:1,tempo:1")
    with pytest.raises(ConfigError, match="unknown fusion block 'tempo'"):
        embedding_model(settings, torch.device("cpu"))


def test_reductions_parse_with_their_dimensions() -> None:
    assert parse_blocks("musicnn:2:pca16, mfcc:0.5:whiten, chroma:1:whiten8") == (
        BlockSpec("musicnn", 2.0, "pca", 16),
        BlockSpec("mfcc", 0.5, "whiten", None),
        BlockSpec("chroma", 1.0, "whiten", 8),
    )


def test_version_changes_with_weights_reduction_and_catalogue_and_names_the_layout() -> None:
    raw = catalogue()
    base = fit_fusion(parse_blocks("musicnn:1,mfcc:0.5"), raw)
    versions = {
        base.version,
        fit_fusion(parse_blocks("musicnn:1,mfcc:0.25"), raw).version,
        fit_fusion(parse_blocks("musicnn:1:pca8,mfcc:0.5"), raw).version,
        fit_fusion(parse_blocks("musicnn:1,mfcc:0.5"), catalogue(seed=4)).version,
    }
    assert len(versions) == 4
    assert fit_fusion(parse_blocks("musicnn:1.0, mfcc:0.50"), raw).version == base.version
    assert all(len(v) <= 64 for v in versions)
    assert layout_of("fusion", base.version) == Layout((("musicnn", 30), ("mfcc", 12)))
    assert layout_of("mfcc-stats", base.version) is None
    assert layout_of("fusion", "1-penultimate-mean") is None


def test_pca_keeps_k_dimensions_and_whitening_gives_unit_variance() -> None:
    raw = catalogue(n=60)
    fitted = fit_fusion(parse_blocks("musicnn:1:pca5,mfcc:1:whiten"), raw)
    assert fitted.layout.blocks == (("musicnn", 5), ("mfcc", 12))
    whitened = fitted.normalisers["mfcc"].apply(raw["mfcc"])
    np.testing.assert_allclose(np.cov(whitened, rowvar=False), np.eye(12), atol=1e-4)
    few = {name: matrix[:4] for name, matrix in raw.items()}
    assert fit_fusion(parse_blocks("musicnn:1:whiten64"), few).layout.blocks == (("musicnn", 3),)


def test_saved_normalisers_load_for_the_same_blocks_only(tmp_path: Path) -> None:
    blocks = parse_blocks("musicnn:1:whiten8,mfcc:0.5")
    raw = catalogue()
    with pytest.raises(NotFoundError, match="index build"):
        load_fusion(tmp_path, blocks)
    fitted = fit_fusion(blocks, raw)
    save_fusion(fitted, tmp_path)
    loaded = load_fusion(tmp_path, blocks)
    assert loaded.version == fitted.version
    np.testing.assert_array_equal(loaded.embed(raw), fitted.embed(raw))
    with pytest.raises(ConfigError, match="index build"):
        load_fusion(tmp_path, parse_blocks("musicnn:1:whiten8,mfcc:0.25"))
