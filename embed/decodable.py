"""Running a decoding step over many tracks, skipping those whose file cannot be decoded or read."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from soundalike.ingest.errors import DecodeError

Item = TypeVar("Item")
Out = TypeVar("Out")


def each_decodable(
    items: Iterable[Item], decode: Callable[[Item], Out], *, on_item: Callable[[], None] | None = None
) -> Iterator[tuple[Item, Out]]:
    """``(item, decode(item))`` for every item that decodes; an undecodable or unreadable file is passed
    over. ``on_item`` is called once per item either way (a progress tick)."""
    for item in items:
        try:
            out = decode(item)
        except (DecodeError, OSError):
            continue
        finally:
            if on_item is not None:
                on_item()
        yield item, out
