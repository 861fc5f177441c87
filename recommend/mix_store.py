"""Mixes in the database: rebuilt from the catalogue's embeddings (``recommend/mixes.py``), read back for serving."""

from __future__ import annotations

import math

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from soundalike.embed.genres import assigned_genres, genre_rows
from soundalike.embed.store import load_embeddings
from soundalike.ingest.db.models import Mix, MixTrack
from soundalike.ingest.errors import NotFoundError
from soundalike.recommend.mixes import MIN_SIZE, TARGET_SIZE, MemberFacts, PlannedMix, continuing_ids, plan_mixes
from soundalike.recommend.results import Result, Why, result_of
from soundalike.recommend.track_table import NO_TRACK, TrackTable


def refresh_mixes(session: Session, model_name: str, *, target: int = TARGET_SIZE, seed: int = 0) -> list[PlannedMix]:
    """Replace the stored mixes with new ones of about ``target`` tracks cut from the playable tracks'
    ``model_name`` embeddings (one track per audio: duplicates left out); returns them, largest first. A new mix
    that continues an old one keeps its id (``continuing_ids``). A catalogue without embeddings has no mixes."""
    ids, vectors, _ = load_embeddings(session, model_name)
    table = TrackTable.load(session)
    rows = table.rows(ids)
    keep = (rows != NO_TRACK) & (table.canonical_ids[rows] == ids)
    ids, vectors, rows = ids[keep], vectors[keep], rows[keep]
    genres = {t: row.genre for t, row in assigned_genres(genre_rows(session)).items()}
    facts = [
        MemberFacts(
            genre=genres.get(int(table.ids[r])),
            moods=tuple(table.moods.of_row(int(r))),
            tempo=None if math.isnan(table.tempo[r]) else float(table.tempo[r]),
            year=None if math.isnan(table.year[r]) else int(table.year[r]),
        )
        for r in rows.tolist()
    ]
    planned = (
        plan_mixes(ids, vectors, facts, target=target, min_size=min(MIN_SIZE, target), seed=seed) if len(ids) else []
    )
    old = {mix_id: tracks for mix_id, _, tracks in stored_mixes(session)}
    kept = continuing_ids(old, [m.track_ids for m in planned])
    session.execute(delete(MixTrack))
    session.execute(delete(Mix).where(Mix.id.not_in([i for i in kept if i is not None])))
    for mix, mix_id in zip(planned, kept, strict=True):
        stored = session.get(Mix, mix_id) if mix_id is not None else None
        if stored is None:
            stored = Mix()
            session.add(stored)
        stored.name, stored.model_name = mix.name, model_name
        stored.tracks = [MixTrack(track_id=t, position=p) for p, t in enumerate(mix.track_ids)]
    session.flush()
    return planned


def stored_mixes(session: Session) -> list[tuple[int, str, list[int]]]:
    """Every stored mix as (id, name, track ids in listening order), by id: what a media-server sync pushes as
    playlists."""
    found: dict[int, tuple[str, list[int]]] = {
        m.id: (m.name, []) for m in session.scalars(select(Mix).order_by(Mix.id))
    }
    for mix_id, track_id in session.execute(
        select(MixTrack.mix_id, MixTrack.track_id).order_by(MixTrack.mix_id, MixTrack.position)
    ):
        found[mix_id][1].append(int(track_id))
    return [(mix_id, name, tracks) for mix_id, (name, tracks) in found.items()]


def mix_results(session: Session, table: TrackTable, mix_id: int) -> tuple[str, list[Result]]:
    """(name, its tracks as result rows in listening order) of one stored mix; tracks no longer playable are left
    out. An unknown id is a NotFoundError."""
    mix = session.get(Mix, mix_id)
    if mix is None:
        raise NotFoundError(f"no mix with id {mix_id}")
    ids = [t.track_id for t in mix.tracks]
    facts = table.facts(ids)
    why = Why(basis=f"in mix {mix.name}")
    return mix.name, [result_of(facts[t], 1.0, why) for t in ids if t in facts and facts[t].status == "ok"]
