"""Data flows one way: ingest <- embed <- index <- recommend; a stage never imports a later one."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
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


PRODUCT = ("ingest", "embed", "index", "recommend", "cli")


def product_modules() -> list[str]:
    names = ["soundalike"]
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            names.append(".".join(("soundalike", *(parts[:-1] if parts[-1] == "__init__" else parts))))
    return names


@pytest.mark.slow
def test_importing_every_product_module_loads_neither_music21_nor_the_demo() -> None:
    """music21 comes with the [demo] extra only, so nothing outside demo/ may import it or the demo."""
    modules = product_modules()
    assert "soundalike.recommend.evaluation" in modules and "soundalike.cli" in modules
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] == 'music21' or m.startswith('soundalike.demo')]\n"
        "print(json.dumps(sorted(loaded)))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_the_package_requires_music21_only_through_the_demo_extra() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not [d for d in project["dependencies"] if d.lower().startswith("music21")]
    assert [d for d in project["optional-dependencies"]["demo"] if d.startswith("music21")]
