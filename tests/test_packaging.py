"""Packaging: the wheel carries the MusiCNN weights and their licence and the web page's templates and static
files, builds without setuptools warnings, every place that reports the version reads the one constant, and the
install script pins every dependency to the version the suite passed with."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import soundalike
from soundalike.ingest.settings import Settings
from soundalike.recommend.api.app import create_app
from soundalike.recommend.api.routes.subsonic import envelope

ROOT = Path(__file__).resolve().parents[1]
WEB_ASSETS = ("templates", "static")
SETUPTOOLS_WARNING = re.compile(r"Setuptools\w*Warning|\b_Warning\b|warning:|[Dd]eprecat|is absent from")
CONSTRAINTS = ROOT / "scripts" / "constraints.txt"
UNPINNED_EXTRAS = {"gpu"}  # CUDA wheels: never installed where the suite runs


@pytest.mark.slow
def test_wheel_holds_the_weights_their_licence_and_the_web_assets_and_builds_without_warnings(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # else distutils warns
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    warnings = [line.strip() for line in (done.stdout + done.stderr).splitlines() if SETUPTOOLS_WARNING.search(line)]
    assert warnings == []
    (wheel,) = tmp_path.glob("soundalike-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {p.name for p in (ROOT / "embed" / "weights").iterdir() if p.suffix in {".safetensors", ".txt"}}
    assert {"MSD_musicnn.safetensors", "MTT_musicnn.safetensors", "LICENSE-musicnn.txt"} <= shipped
    assert {"musicnn-student.safetensors", "NOTICE-musicnn-student.txt"} <= shipped
    assert {f"soundalike/embed/weights/{name}" for name in shipped} <= names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "soundalike/demo/corpus.py" in names
    web = ROOT / "recommend" / "web"
    assets = {f"soundalike/recommend/web/{p.relative_to(web)}" for p in web.glob("*/*") if p.parent.name in WEB_ASSETS}
    assert {"soundalike/recommend/web/templates/base.html", "soundalike/recommend/web/static/app.js"} <= assets
    assert assets <= names


def test_api_and_subsonic_report_the_package_version(tmp_path: Path) -> None:
    app = create_app(Settings(home=tmp_path))
    assert app.openapi()["info"]["version"] == soundalike.__version__
    assert envelope("ok", {})["subsonic-response"]["serverVersion"] == soundalike.__version__
    assert importlib.metadata.version("soundalike") == soundalike.__version__


def test_the_version_literal_is_written_once() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    sources = [name for name in tracked if name.endswith((".py", ".toml")) and not name.startswith("tests/")]
    assert "recommend/api/app.py" in sources and "pyproject.toml" in sources
    holding = [name for name in sources if f'"{soundalike.__version__}"' in (ROOT / name).read_text()]
    assert holding == ["__init__.py"]


def test_every_dependency_and_extra_is_pinned_and_the_install_script_installs_with_the_pins() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = [r for name, rs in project["optional-dependencies"].items() if name not in UNPINNED_EXTRAS for r in rs]
    declared = {canonicalize_name(Requirement(r).name) for r in [*project["dependencies"], *extras, "pip"]}
    pins = {}
    for line in CONSTRAINTS.read_text().splitlines():
        name, _, version = line.partition("==")
        pins[canonicalize_name(name)] = version
    assert all(version for version in pins.values()), "every constraint is an exact version"
    assert declared - pins.keys() == set()
    install = (ROOT / "scripts" / "install.sh").read_text()
    installs = [line for line in install.splitlines() if "pip install" in line]
    assert len(installs) == 4 and all('"${CONSTRAINTS[@]}"' in line for line in installs)
    assert "CONSTRAINTS=(-c scripts/constraints.txt)" in install
