"""Extracting a Debian package's music, as the demo does, from a real .deb built with dpkg-deb."""

from __future__ import annotations

from pathlib import Path

import pytest

from soundalike.demo.debian_music import fetch_package_music

from support.debs import build_deb


def test_music_and_copyright_come_out_of_a_cached_package_under_relative_folders(
    library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default data folder is relative: extraction must not depend on the tools' working folder."""
    cache = tmp_path / "data" / "debs"
    build_deb(tmp_path / "pkg", "tune-music", {"theme.ogg": library / "beat" / "beat_05.ogg"}, cache)
    monkeypatch.chdir(tmp_path)

    found = fetch_package_music("tune-music", Path("data/debs"), Path("data/music"))
    assert [p.name for p in found] == ["theme.ogg"]
    assert found[0].read_bytes() == (library / "beat" / "beat_05.ogg").read_bytes()
    assert "GPL-2+" in (tmp_path / "data" / "music" / "tune-music" / "COPYRIGHT").read_text()
    assert not (cache / "tune-music-unpacked").exists()


def test_mp3_music_is_extracted_and_an_extracted_mp3_package_is_reused(library: Path, tmp_path: Path) -> None:
    """asc-music ships .mp3 only: it must come out, and a second call must not download or extract again."""
    cache, dest = tmp_path / "debs", tmp_path / "music"
    build_deb(tmp_path / "pkg", "mp3-music", {"march.mp3": library / "beat" / "beat_07.mp3"}, cache)

    assert [p.name for p in fetch_package_music("mp3-music", cache, dest)] == ["march.mp3"]
    (cache / "mp3-music_1.0_all.deb").unlink()
    assert [p.name for p in fetch_package_music("mp3-music", cache, dest)] == ["march.mp3"]
