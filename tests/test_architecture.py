"""Data flows one way: ingest <- embed <- index <- recommend; a stage never imports a later one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("ingest", "embed", "index", "recommend")


def imported_stages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "soundalike" and len(parts) > 1 and parts[1] in STAGES:
                found.add(parts[1])
            elif parts[0] in STAGES:
                found.add(f"bare:{parts[0]}")
    return found


@pytest.mark.parametrize("stage", STAGES)
def test_stage_imports_only_itself_and_earlier_stages(stage: str) -> None:
    allowed = set(STAGES[: STAGES.index(stage) + 1])
    offenders = {}
    for path in sorted((ROOT / stage).rglob("*.py")):
        bad = imported_stages(path) - allowed
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}


def test_the_checker_catches_a_backward_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from soundalike.recommend.similar import similar_to_track\nimport index\n")
    assert imported_stages(module) == {"recommend", "bare:index"}
