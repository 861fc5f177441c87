"""Finding audio files under the paths a user names: by extension, or by the file's first bytes."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from soundalike.ingest.paths import absolute_path

AUDIO_EXTENSIONS = frozenset(
    {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".m4a", ".aac", ".wma", ".alac"}
)
SNIFF_BYTES = 12
_MP4_AUDIO_BRANDS = (b"M4A ", b"M4B ", b"M4P ", b"F4A ")

OnError = Callable[[Path, OSError], None]
OnOutside = Callable[[Path, Path], None]


def is_audio_name(path: Path) -> bool:
    """Whether the file name has an audio extension."""
    return path.suffix.lower() in AUDIO_EXTENSIONS


def is_audio_magic(head: bytes) -> bool:
    """Whether a file's first bytes are the signature of an audio container.

    RIFF/WAVE, FORM/AIFF, fLaC, OggS, ID3 or an MPEG audio frame sync, and MP4 ``ftyp`` with an audio brand.
    """
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return True
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return True
    if head[:4] in (b"fLaC", b"OggS") or head[:3] == b"ID3":
        return True
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06 != 0:
        return True
    return head[4:8] == b"ftyp" and head[8:12] in _MP4_AUDIO_BRANDS


def sniff(path: Path) -> bool:
    """Whether the file at ``path`` starts like audio; unreadable files are not audio."""
    try:
        with path.open("rb") as handle:
            return is_audio_magic(handle.read(SNIFF_BYTES))
    except OSError:
        return False


def real_path(path: Path) -> Path:
    """``path`` with every symlink resolved (a loop is left as it is, never an error)."""
    return Path(os.path.realpath(path))


def lies_under(path: Path, real_roots: Iterable[Path]) -> bool:
    """Whether the real path of ``path`` is one of ``real_roots`` (real paths themselves) or lies below one."""
    real = real_path(path)
    return any(real.is_relative_to(root) for root in real_roots)


def _walk(root: Path, on_error: OnError | None, stays: Callable[[Path], bool]) -> Iterator[Path]:
    """Audio files under ``root``, depth first in name order; symlinks that ``stays`` refuses are passed over,
    symlinked folders are followed once each."""
    seen: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            info = directory.stat()
            if (info.st_dev, info.st_ino) in seen:
                continue
            seen.add((info.st_dev, info.st_ino))
            with os.scandir(directory) as entries:
                listed = sorted(entries, key=lambda e: e.name)
        except OSError as exc:
            if on_error:
                on_error(directory, exc)
            continue
        subdirs = []
        for entry in listed:
            path = directory / entry.name
            try:
                is_dir, is_file = entry.is_dir(), entry.is_file()
                if (is_dir or is_file) and entry.is_symlink() and not stays(path):
                    continue
            except OSError:
                continue
            if is_dir and not is_audio_name(path):
                subdirs.append(path)
            elif (is_dir or is_file) and is_audio_name(path) or is_file and sniff(path):
                yield path
        stack.extend(reversed(subdirs))


def scan(
    paths: Iterable[Path],
    *,
    on_error: OnError | None = None,
    follow_symlinks: bool = False,
    on_outside: OnOutside | None = None,
) -> Iterator[Path]:
    """Absolute paths of audio files under ``paths``, in name order.

    A file is audio when its extension says so or, failing that, when its first bytes do. Files named
    explicitly are yielded whatever they hold. Symlinks are followed while they lead to a place under one of
    ``paths`` (each real folder once: loops end); one leading out of them is passed to ``on_outside`` with
    its target and skipped, unless ``follow_symlinks``. A folder that cannot be listed is passed to
    ``on_error`` and skipped. A folder whose name has an audio extension is yielded, so that ingestion
    records it as a failure rather than hiding it. Pipes, sockets and devices are never yielded (opening a
    pipe would block).
    """
    roots = [absolute_path(root) for root in paths]
    real_roots = [real_path(root) for root in roots]

    def stays(link: Path) -> bool:
        if follow_symlinks or lies_under(link, real_roots):
            return True
        if on_outside:
            on_outside(link, real_path(link))
        return False

    for root in roots:
        if root.is_dir():
            yield from _walk(root, on_error, stays)
        else:
            yield root
