from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from soundalike.ingest.atomic_files import atomic_write, atomic_write_bytes, atomic_write_npz, atomic_write_text


def test_failed_write_leaves_the_previous_file_intact(tmp_path: Path) -> None:
    target = tmp_path / "x.faiss"
    target.write_text("old")

    def broken(tmp: Path) -> None:
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, broken)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.faiss"]


def test_failed_rename_leaves_the_previous_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")

    def crash(src: object, dst: object) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="power cut"):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_write_is_synced_before_the_rename_and_the_folder_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync-dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync-file")
        real_fsync(fd)

    def replace(src: str, dst: str) -> None:
        events.append("rename")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    target = atomic_write_bytes(tmp_path / "sub" / "list.m3u", b"#EXTM3U\n")
    assert target.read_bytes() == b"#EXTM3U\n"
    assert events == ["fsync-file", "rename", "fsync-dir"]


def test_arrays_are_written_to_the_exact_path_and_read_back(tmp_path: Path) -> None:
    target = atomic_write_npz(tmp_path / "rows.npz.new", {"ids": np.arange(3), "name": np.array("fusion")})
    assert [p.name for p in tmp_path.iterdir()] == ["rows.npz.new"]
    with np.load(target, allow_pickle=False) as saved:
        assert saved["ids"].tolist() == [0, 1, 2] and str(saved["name"]) == "fusion"
