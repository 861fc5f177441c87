"""The student's extra training music: each package's rule picks its songs out of a real .deb."""

from __future__ import annotations

import zipfile
from pathlib import Path

import bench_quality
import pytest
import training_music
from training_music import Rule, fetch_training_music

from support.debs import build_deb


def test_no_training_package_is_one_the_quality_benchmark_scores() -> None:
    assert not set(training_music.TRAINING_PACKAGES) & set(bench_quality.PACKAGES)


def test_songs_in_folders_zip_members_and_short_stingers_follow_each_rule(
    library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    short, long = sorted(
        (library / "beat" / "beat_05.ogg", library / "drone" / "drone_04.ogg"), key=lambda p: p.stat().st_size
    )
    size = (long.stat().st_size + short.stat().st_size) // 2
    assert short.stat().st_size < size < long.stat().st_size
    pack = tmp_path / "music.pk3"
    with zipfile.ZipFile(pack, "w") as archive:
        archive.write(long, "sound/cdtracks/theme.ogg")
        archive.write(short, "sound/cdtracks/sting.ogg")
        archive.write(long, "sound/misc/boom.ogg")
    debs = tmp_path / "debs"
    build_deb(
        tmp_path / "songs",
        "song-music",
        {"rock/first one/song.ogg": long, "rock/two/song.ogg": long, "rock/two/guitar.ogg": long},
        debs,
        folder="usr/share/games/fof/songs",
    )
    build_deb(tmp_path / "packed", "packed-music", {"music.pk3": pack}, debs, folder="usr/share/games/x")
    rules = {
        "song-music": Rule("usr/share/games/fof/songs/*/*/song.ogg", min_bytes=0, name_by_folder=True),
        "packed-music": Rule("usr/share/games/x/music.pk3!sound/cdtracks/*.ogg", min_bytes=size),
    }
    monkeypatch.setattr(training_music, "TRAINING_PACKAGES", rules)

    found = fetch_training_music(tmp_path / "extra", debs)
    assert {p: [f.name for f in files] for p, files in found.items()} == {
        "song-music": ["first_one.ogg", "two.ogg"],
        "packed-music": ["theme.ogg"],
    }
    assert found["packed-music"][0].read_bytes() == long.read_bytes()
    assert "GPL-2+" in (tmp_path / "extra" / "song-music" / "COPYRIGHT").read_text()
    for deb in debs.glob("*.deb"):
        deb.unlink()
    assert fetch_training_music(tmp_path / "extra", debs) == found  # extracted packages are reused
