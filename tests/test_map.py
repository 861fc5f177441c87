"""ARCHITECTURE.md is the map of the code: every product module has a row, and every path it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAPPED = ("ingest", "embed", "index", "recommend", "cli", "demo")
PATH = re.compile(r"`([A-Za-z0-9_.\-/]+)`")


def product_modules(root: Path) -> set[str]:
    """Every product module as a path relative to ``root``; package markers carry no code of their own."""
    return {
        str(path.relative_to(root))
        for package in MAPPED
        for path in (root / package).rglob("*.py")
        if path.name != "__init__.py"
    }


def named_paths(text: str) -> set[str]:
    """The file and folder paths a map names in backquotes (anything with a slash or a file suffix)."""
    return {
        name.split("::")[0]
        for name in PATH.findall(text)
        if ("/" in name or re.search(r"\.(py|md|toml|ini|html|js|css)$", name)) and not name.startswith("/")
    }


def map_problems(text: str, root: Path) -> dict[str, list[str]]:
    """Modules with no row, and named paths that do not exist."""
    named = named_paths(text)
    return {
        "modules without a row": sorted(product_modules(root) - named),
        "rows naming a missing path": sorted(p for p in named if not (root / p).exists()),
    }


def test_every_product_module_has_a_row_and_every_row_names_a_real_path() -> None:
    problems = map_problems((ROOT / "ARCHITECTURE.md").read_text(), ROOT)
    assert problems == {"modules without a row": [], "rows naming a missing path": []}


def test_the_map_check_catches_a_missing_row_and_a_stale_path(tmp_path: Path) -> None:
    (tmp_path / "ingest").mkdir()
    for name in ("audio.py", "scan.py", "__init__.py"):
        (tmp_path / "ingest" / name).write_text('"""A module."""\n')
    text = "| opening audio | `ingest/audio.py` |\n| health | `recommend/health.py` |\n| version | `__init__.py` |\n"
    assert map_problems(text, tmp_path) == {
        "modules without a row": ["ingest/scan.py"],
        "rows naming a missing path": ["__init__.py", "recommend/health.py"],
    }
