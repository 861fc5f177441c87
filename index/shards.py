"""Several indexes (CPU shards, or one per GPU) searched in parallel behind one index.

Tracks go to shard ``track_id % shards``; ``faiss.IndexShards`` merges the shards' top-k lists, and
passes search parameters (tuned ``efSearch``/``nprobe``, stale-id selector) down to each shard.
"""

from __future__ import annotations

import faiss


def shard_list(index: faiss.Index) -> list[faiss.Index]:
    """The sub-indexes of an ``IndexShards``, or the index itself."""
    shards = faiss.downcast_index(index)
    if isinstance(shards, faiss.IndexShards):
        return [shards.at(n) for n in range(shards.count())]  # type: ignore[attr-defined]
    return [index]


def combine_shards(indexes: list[faiss.Index]) -> faiss.Index:
    """One index over several shards searched in parallel (or the only one)."""
    if len(indexes) == 1:
        return indexes[0]
    shards = faiss.IndexShards(indexes[0].d, True, False)  # type: ignore[call-arg]
    for sub in indexes:
        shards.add_shard(sub)
    return shards
