"""Personalised playlists: recency-weighted multi-interest profile, MMR, artist cap, cold start for thin history."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from sqlalchemy.orm import Session

from soundalike.embed.fusion import layout_of
from soundalike.embed.unit_norm import unit_rows
from soundalike.ingest.errors import InputError
from soundalike.ingest.listening import completed_plays, get_user, user_events
from soundalike.recommend.candidates import pick, pool_size, served_embeddings
from soundalike.recommend.defaults import DEFAULTS
from soundalike.recommend.filters import Filters
from soundalike.recommend.profile import Interest, interests, play_weights
from soundalike.recommend.ranking import Candidate, select
from soundalike.recommend.results import Result, explain, matching_aspects, result_of
from soundalike.recommend.track_table import NO_TRACK, CatalogueIndex, TrackTable

MAX_PROFILE_TRACKS = 500
MIN_INTEREST_SHARE = 0.2


@dataclass(frozen=True)
class PlaylistOptions:
    """Playlist shape: length, recency half-life, MMR diversity, artist cap, skips, interests and cold start."""

    n: int = DEFAULTS.playlist_length
    half_life_days: float = DEFAULTS.half_life_days
    diversity: float = DEFAULTS.playlist_diversity
    artist_cap: int | None = DEFAULTS.playlist_artist_cap
    include_heard: bool = False
    max_interests: int = 3
    skip_penalty: float = 0.3
    min_history: int = 3
    filters: Filters = Filters()

    def __post_init__(self) -> None:
        """Refuse values that cannot make a playlist."""
        if self.n < 1:
            raise InputError(f"playlist length must be >= 1, got {self.n}")
        if self.half_life_days <= 0:
            raise InputError(f"half-life must be > 0 days, got {self.half_life_days}")
        if not 0.0 <= self.diversity <= 1.0:
            raise InputError(f"diversity must be within [0, 1], got {self.diversity}")


@dataclass
class Playlist:
    """A user's playlist and how it was made (``personalised``, ``cold_start_genre``, ``cold_start_popularity``)."""

    user: str
    strategy: str
    results: list[Result]
    interests: list[dict[str, object]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "user": self.user,
            "strategy": self.strategy,
            "interests": self.interests,
            "results": [r.as_dict() for r in self.results],
        }


def playlist_for_user(
    session: Session, index: CatalogueIndex, user_name: str, options: PlaylistOptions | None = None
) -> Playlist:
    """The user's playlist: personalised when enough history has embeddings, cold start otherwise."""
    user = get_user(session, user_name)
    return playlist_from_events(session, index, user.name, user_events(session, user.id), options)


def playlist_from_events(
    session: Session,
    index: CatalogueIndex,
    user: str,
    events: list[tuple[int, datetime, bool]],
    options: PlaylistOptions | None = None,
) -> Playlist:
    """The playlist for a history given as (track_id, played_at, skipped) plays."""
    options = options or PlaylistOptions()
    positive, negative = play_weights(events, half_life_days=options.half_life_days)
    heard = set() if options.include_heard else {t for t, _, _ in events}
    profile_ids = sorted(positive, key=lambda t: -positive[t])[:MAX_PROFILE_TRACKS]
    vectors = served_embeddings(session, index, profile_ids + list(negative))
    played = [t for t in profile_ids if t in vectors]
    if len(played) < options.min_history:
        return cold_start(session, index, user, positive, heard, options)
    skipped = [t for t in negative if t in vectors]
    found = interests(
        played,
        np.stack([vectors[t] for t in played]),
        np.array([positive[t] for t in played]),
        np.stack([vectors[t] for t in skipped]) if skipped else np.zeros((0, 0), np.float32),
        np.array([negative[t] for t in skipped]),
        max_k=options.max_interests,
        skip_penalty=options.skip_penalty,
    )
    results = rank_for_interests(session, index, found, vectors, heard, options)
    summary: list[dict[str, object]] = [
        {"cluster": c, "weight": round(i.weight, 4), "tracks": len(i.members), "members": i.members}
        for c, i in enumerate(found)
    ]
    return Playlist(user, "personalised", results, summary)


def rank_for_interests(
    session: Session,
    index: CatalogueIndex,
    found: list[Interest],
    history: dict[int, np.ndarray],
    heard: set[int],
    options: PlaylistOptions,
) -> list[Result]:
    """Candidates near each interest, ranked by MMR with the interests interleaved by their share."""
    queries = np.stack([i.vector for i in found])
    heard_rows = index.table.rows(sorted(heard))
    duplicates = index.table.duplicate_of[heard_rows[heard_rows >= 0]]
    taken = heard | {int(t) for t in duplicates if t >= 0}
    picks = pick(
        session,
        index,
        queries,
        options.n,
        pool=pool_size(options.n, options.filters) + len(heard),
        taken=taken,
        filters=options.filters,
        artist_cap=options.artist_cap,
        diversity=options.diversity,
        group_weights=[max(i.weight, MIN_INTEREST_SHARE) for i in found],
        relevance=lambda sims: sims.max(axis=1),
    )
    member_vectors = [unit_rows(np.stack([history[m] for m in i.members])) for i in found]
    anchors: list[tuple[int, float]] = []
    for c, vector in picks:
        member_sims = member_vectors[c.group] @ vector
        best = int(np.argmax(member_sims))
        anchors.append((found[c.group].members[best], float(member_sims[best])))
    anchor_facts = index.table.facts(a for a, _ in anchors)
    chosen = index.table.facts(c.track_id for c, _ in picks)
    layout = layout_of(index.meta.model_name, index.meta.model_version)
    results = []
    for (c, vector), (anchor, similarity) in zip(picks, anchors, strict=True):
        facts = chosen[c.track_id]
        aspects = matching_aspects(layout, vector, history[anchor])
        why = explain(
            "close to your history track", facts, anchor_facts.get(anchor), similarity, cluster=c.group, aspects=aspects
        )
        results.append(result_of(facts, c.relevance, why))
    return results


def cold_start(
    session: Session,
    index: CatalogueIndex,
    user: str,
    positive: dict[int, float],
    heard: set[int],
    options: PlaylistOptions,
) -> Playlist:
    """Too little history: the most played tracks in the user's genres, else the most played tracks overall."""
    table = index.table
    played = table.facts(positive)
    genres = Counter(g for f in played.values() for g in f.genres)
    liked = [g for g, _ in genres.most_common(3)]
    pool = pool_size(options.n, options.filters)
    plays = completed_plays(session)
    strategy = "cold_start_genre"
    ranked = most_played(table, plays, pool, genres=liked, exclude=heard) if liked else []
    if len(ranked) < options.n:
        strategy = "cold_start_popularity" if not ranked else strategy
        seen = {t for t, _ in ranked}
        ranked += [r for r in most_played(table, plays, pool, exclude=heard) if r[0] not in seen]
    top = max((n for _, n in ranked), default=0) or 1
    passes = table.accepts(options.filters, table.rows([t for t, _ in ranked]))
    kept = [r for r, ok in zip(ranked, passes.tolist(), strict=True) if ok]
    facts = table.facts(t for t, _ in kept)
    candidates = [Candidate(t, n / top, 0, facts[t].artist, facts[t].canonical) for t, n in kept]
    picked = select(candidates, np.zeros((len(candidates), 1)), options.n, artist_cap=options.artist_cap, taken=heard)
    basis = "popular in " + ", ".join(liked) if strategy == "cold_start_genre" else "popular with all listeners"
    chosen = [candidates[p] for p in picked]
    results = [result_of(facts[c.track_id], c.relevance, explain(basis, facts[c.track_id], None, None)) for c in chosen]
    return Playlist(user, strategy, results)


def most_played(
    table: TrackTable, plays: dict[int, int], limit: int, *, genres: Collection[str] = (), exclude: Collection[int] = ()
) -> list[tuple[int, int]]:
    """(track_id, completed plays) of playable tracks that are no one's duplicate, most played first (ties by id),
    optionally only tracks of any of ``genres``; at most ``limit``."""
    counts = np.zeros(len(table), dtype=np.int64)
    if plays:
        rows = table.rows(np.fromiter(plays, dtype=np.int64, count=len(plays)))
        known = rows != NO_TRACK
        counts[rows[known]] = np.fromiter(plays.values(), dtype=np.int64, count=len(plays))[known]
    wanted = Filters.build(genres=list(genres), exclude=list(exclude))
    every = np.arange(len(table))
    keep = np.flatnonzero(table.accepts(wanted, every) & (table.duplicate_of == NO_TRACK))
    order = keep[np.lexsort((table.ids[keep], -counts[keep]))][:limit]
    return [(int(table.ids[r]), int(counts[r])) for r in order]


def recommend_for_user(session: Session, index: CatalogueIndex, user_name: str, n: int) -> list[Result]:
    """The results of ``playlist_for_user`` with default options and length ``n``."""
    return playlist_for_user(session, index, user_name, PlaylistOptions(n=n)).results
