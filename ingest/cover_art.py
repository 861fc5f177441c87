"""A track's cover art: a picture embedded in the file (ID3 APIC, FLAC or Vorbis picture blocks, MP4 ``covr``),
else an image beside it in its folder (``cover.jpg``, ``folder.png``, ...)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

import mutagen
from mutagen import MutagenError
from mutagen.flac import Picture

FOLDER_IMAGES = ("cover", "folder", "front", "album")
IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}
MAX_COVER_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Cover:
    """An image's bytes and media type."""

    data: bytes
    media_type: str


def embedded_cover(path: Path) -> Cover | None:
    """The first picture embedded in an audio file, if any (an unreadable file has none)."""
    try:
        audio = mutagen.File(path)
    except (MutagenError, OSError):
        return None
    if audio is None:
        return None
    pictures = list(getattr(audio, "pictures", []) or [])
    tags = audio.tags or {}
    if hasattr(tags, "getall"):
        pictures += tags.getall("APIC")
    for block in tags.get("metadata_block_picture", []) if hasattr(tags, "get") else []:
        try:
            pictures.append(Picture(base64.b64decode(block)))
        except (MutagenError, ValueError):
            continue
    for picture in pictures:
        if picture.data:
            return Cover(bytes(picture.data), picture.mime or "image/jpeg")
    for covr in tags.get("covr", []) if hasattr(tags, "get") else []:
        kind = "image/png" if getattr(covr, "imageformat", None) == getattr(covr, "FORMAT_PNG", -1) else "image/jpeg"
        return Cover(bytes(covr), kind)
    return None


def folder_cover(path: Path) -> Path | None:
    """An image named like a cover (``cover.jpg``, ``Folder.png``...) in the track's folder, if any."""
    try:
        entries = sorted(path.parent.iterdir())
    except OSError:
        return None
    for entry in entries:
        if entry.stem.lower() in FOLDER_IMAGES and entry.suffix.lower() in IMAGE_TYPES and entry.is_file():
            return entry
    return None


def track_cover(path: Path) -> Cover | None:
    """A track's cover art: embedded first, else its folder's image (at most ``MAX_COVER_BYTES``)."""
    cover = embedded_cover(path)
    if cover is not None:
        return cover
    image = folder_cover(path)
    if image is None or image.stat().st_size > MAX_COVER_BYTES:
        return None
    return Cover(image.read_bytes(), IMAGE_TYPES[image.suffix.lower()])
