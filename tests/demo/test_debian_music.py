"""Extracting a Debian package's music, as the demo does, from a real .deb built with dpkg-deb."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from soundalike.demo.debian_music import fetch_package_music


def test_music_and_copyright_come_out_of_a_cached_package_under_relative_folders(
    library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default data folder is relative: extraction must not depend on the tools' working folder."""
    root = tmp_path / "pkg"
    music = root / "usr" / "share" / "games" / "tune" / "music"
    music.mkdir(parents=True)
    shutil.copy(library / "beat" / "beat_05.ogg", music / "theme.ogg")
    doc = root / "usr" / "share" / "doc" / "tune-music"
    doc.mkdir(parents=True)
    (doc / "copyright").write_text("Files: *\nLicense: GPL-2+\n")
    (root / "DEBIAN").mkdir()
    control = "Package: tune-music\nVersion: 1.0\nArchitecture: all\nMaintainer: x <x@example.org>\nDescription: t\n"
    (root / "DEBIAN" / "control").write_text(control)
    cache = tmp_path / "data" / "debs"
    cache.mkdir(parents=True)
    subprocess.run(["dpkg-deb", "--build", str(root), str(cache / "tune-music_1.0_all.deb")], check=True)
    monkeypatch.chdir(tmp_path)

    found = fetch_package_music("tune-music", Path("data/debs"), Path("data/music"))
    assert [p.name for p in found] == ["theme.ogg"]
    assert found[0].read_bytes() == (library / "beat" / "beat_05.ogg").read_bytes()
    assert "GPL-2+" in (tmp_path / "data" / "music" / "tune-music" / "COPYRIGHT").read_text()
    assert not (cache / "tune-music-unpacked").exists()
