"""Incremental sync: what a scan means for the catalogue (unchanged, touched, new, moved, gone).

Size and mtime are the cheap pre-check; the content hash decides. Planning is pure: it takes what
the catalogue knows and what the disk holds, and says what to do with each file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from soundalike.ingest.paths import to_db_path


@dataclass(frozen=True)
class Known:
    """What the catalogue holds about one track, enough to decide without loading the row."""

    id: int
    path: str
    size: int
    mtime: float
    content_hash: str | None
    status: str
    duplicate_of_id: int | None = None


@dataclass(frozen=True)
class OnDisk:
    """A scanned file and its ``stat`` facts."""

    path: Path
    size: int
    mtime: float


@dataclass
class SyncPlan:
    """What to do with each scanned file, and which catalogue tracks were not seen."""

    unchanged: list[tuple[Known, OnDisk]] = field(default_factory=list)
    touched: list[tuple[Known, OnDisk]] = field(default_factory=list)
    move_candidates: list[OnDisk] = field(default_factory=list)
    analyse: list[OnDisk] = field(default_factory=list)
    missing: dict[int, Known] = field(default_factory=dict)


def is_under(path: str, roots: Iterable[str]) -> bool:
    """Whether the stored path ``path`` is one of ``roots`` or lies below one."""
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def plan_sync(known: Iterable[Known], disk: Iterable[OnDisk], *, roots: list[str], keep: list[str]) -> SyncPlan:
    """Sort scanned files against the catalogue.

    - same path, size and mtime: ``unchanged`` (a deleted track there comes back without decoding);
    - same path and size, other mtime: ``touched`` (hash it: equal content needs no decoding);
    - new path whose size equals a missing track's: ``move_candidates`` (hash it: equal content is a move);
    - anything else: ``analyse``.
    ``missing`` are the tracks under ``roots`` whose path was not scanned, except below ``keep`` (folders
    that could not be listed, whose files are not known to be gone).
    """
    by_path = {k.path: k for k in known}
    plan = SyncPlan()
    seen: set[str] = set()
    new: list[OnDisk] = []
    for item in disk:
        key = to_db_path(item.path)
        seen.add(key)
        track = by_path.get(key)
        if track is None:
            new.append(item)
        elif (track.size, track.mtime) == (item.size, item.mtime):
            plan.unchanged.append((track, item))
        elif track.size == item.size and track.content_hash:
            plan.touched.append((track, item))
        else:
            plan.analyse.append(item)
    plan.missing = {
        k.id: k
        for k in by_path.values()
        if k.path not in seen and is_under(k.path, roots) and not is_under(k.path, keep)
    }
    sizes = {k.size for k in plan.missing.values() if k.content_hash}
    for item in new:
        (plan.move_candidates if item.size in sizes else plan.analyse).append(item)
    return plan
