"""Radio sessions kept in the database: started from seed tracks and/or a listener, asked for next tracks, told
what was played or skipped. Every call reads the session's state back, so a restarted server resumes it; the
listener's feedback is also stored as their listening events.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from soundalike.embed.fusion import layout_of
from soundalike.embed.unit_norm import unit_rows
from soundalike.ingest.db.models import RadioSession, RadioTrack, User
from soundalike.ingest.errors import InputError, NotFoundError
from soundalike.ingest.listening import MAX_MS_PLAYED, get_or_create_user, get_user, record_play, user_events
from soundalike.ingest.repository import get_track
from soundalike.recommend.candidates import Neighbours, pool_size, served_embeddings, widen_until_chosen
from soundalike.recommend.defaults import DEFAULTS
from soundalike.recommend.filters import Filters
from soundalike.recommend.profile import play_weights
from soundalike.recommend.radio import HISTORY_SKIP_WEIGHT, Steering, pick, relevance, skip_weight
from soundalike.recommend.results import Result, explain, matching_aspects, result_of
from soundalike.recommend.track_table import CatalogueIndex

EVENTS = ("played", "skipped")
USER_SEEDS = 5
"""A radio started from a listener alone is seeded with their most played tracks, this many."""
MAX_POSITION_S = MAX_MS_PLAYED / 1000


@dataclass(frozen=True)
class Feedback:
    """What a feedback call stored: the event and, for a skip, how much it counts against the track."""

    session: str
    track_id: int
    event: str
    weight: float | None
    recorded_for: str | None

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "session": self.session,
            "track_id": self.track_id,
            "event": self.event,
            "weight": self.weight,
            "recorded_for": self.recorded_for,
        }


def start_radio(
    session: Session, index: CatalogueIndex, *, seeds: list[int], user: str | None, n: int
) -> tuple[str, list[Result]]:
    """A new radio (``create_radio``) and its first ``n`` tracks."""
    radio = create_radio(session, index, seeds=seeds, user=user)
    return radio, next_tracks(session, index, radio, n)


def create_radio(session: Session, index: CatalogueIndex, *, seeds: list[int], user: str | None) -> str:
    """A new radio's id, from seed tracks and/or a listener (seeded with their most played tracks when no track
    is given); InputError when there is nothing to start from."""
    tracks = list(dict.fromkeys(int(t) for t in seeds))
    if len(tracks) > DEFAULTS.max_seeds:
        raise InputError(f"at most {DEFAULTS.max_seeds} seed tracks, got {len(tracks)}")
    missing = [t for t in tracks if t not in index.table.facts([t])]
    if missing:
        raise NotFoundError(f"no track with id {missing[0]}")
    listener = None
    if user is not None:
        listener = get_or_create_user(session, user) if tracks else get_user(session, user)
        if not tracks:
            positive, _ = play_weights(user_events(session, listener.id), half_life_days=DEFAULTS.half_life_days)
            tracks = sorted(positive, key=lambda t: (-positive[t], t))[:USER_SEEDS]
    if not tracks:
        raise InputError("a radio needs seed tracks, or a listener with completed plays")
    vectors = served_embeddings(session, index, tracks)
    absent = [t for t in tracks if t not in vectors]
    if absent:
        raise NotFoundError(f"track {absent[0]} has no {index.meta.model_name} embedding")
    radio = RadioSession(id=uuid.uuid4().hex, user_id=listener.id if listener else None, seeds={"tracks": tracks})
    session.add(radio)
    session.flush()
    return radio.id


def instant_mix(session: Session, index: CatalogueIndex, track_id: int, n: int) -> list[Result]:
    """The first ``n`` tracks of a radio seeded with one track, without storing a session (a client's instant mix)."""
    if track_id not in index.table.facts([track_id]):
        raise NotFoundError(f"no track with id {track_id}")
    if track_id not in served_embeddings(session, index, [track_id]):
        raise NotFoundError(f"track {track_id} has no {index.meta.model_name} embedding")
    return rank_next(session, index, Steering([track_id]), n)


def get_radio(session: Session, radio_id: str) -> RadioSession:
    """The stored radio session; NotFoundError when there is none with this id."""
    radio = session.get(RadioSession, radio_id) if len(radio_id) <= 32 else None
    if radio is None:
        raise NotFoundError(f"no radio session {radio_id!r}")
    return radio


def steering(session: Session, radio: RadioSession) -> Steering:
    """The session's state: seeds and plays as positives, skips weighted (the listener's other skips at half)."""
    rows = session.execute(
        select(RadioTrack.track_id, RadioTrack.event, RadioTrack.weight)
        .where(RadioTrack.session_id == radio.id)
        .order_by(RadioTrack.position)
    ).all()
    served = [int(t) for t, _, _ in rows]
    state = Steering(list(radio.seeds["tracks"]), served=served)
    if radio.user_id is not None:
        mine = set(served)
        for track_id, _, skipped in user_events(session, radio.user_id):
            if skipped and track_id not in mine:
                state.skips[track_id] = HISTORY_SKIP_WEIGHT
    for track_id, event, weight in rows:
        if event == "played":
            state.played.append(int(track_id))
        elif event == "skipped":
            state.skips[int(track_id)] = float(weight if weight is not None else 1.0)
    return state


def next_tracks(session: Session, index: CatalogueIndex, radio_id: str, n: int) -> list[Result]:
    """The radio's next ``n`` tracks (fewer when the catalogue runs out), stored as served."""
    if not 1 <= n <= DEFAULTS.max_results:
        raise InputError(f"n must be within [1, {DEFAULTS.max_results}], got {n}")
    radio = get_radio(session, radio_id)
    state = steering(session, radio)
    results = rank_next(session, index, state, n)
    start = session.scalar(select(func.count(RadioTrack.id)).where(RadioTrack.session_id == radio.id)) or 0
    for offset, result in enumerate(results):
        session.add(RadioTrack(session_id=radio.id, track_id=result.track_id, position=start + offset))
    session.flush()
    return results


def rank_next(session: Session, index: CatalogueIndex, state: Steering, n: int) -> list[Result]:
    """The next ``n`` tracks for a radio's state: candidates near its positives, steered by ``radio.relevance``
    and picked by ``radio.pick``; nothing served or seeded comes again, nor a duplicate of it."""
    table = index.table
    vectors = served_embeddings(session, index, [*state.positives(), *state.served, *state.skips])
    queries = [t for t in state.positives() if t in vectors]
    positives = unit_rows(np.stack([vectors[t] for t in queries]))
    skipped = [t for t in state.skips if t in vectors]
    skip_matrix = unit_rows(np.stack([vectors[t] for t in skipped])) if skipped else positives[:0]
    skip_weights = np.array([state.skips[t] for t in skipped])
    heard = [*state.seeds, *state.served]
    rows = table.rows(heard)
    taken = set(heard) | {int(t) for t in table.canonical(rows[rows >= 0])}
    shown = [t for t in state.served if t in vectors]
    before = unit_rows(np.stack([vectors[t] for t in shown])) if shown else positives[:0]
    recent = [(table.artist[r], table.album[r]) for r in table.rows(state.served).tolist() if r >= 0]
    found = widen_until_chosen(
        Neighbours(session, index, positives, taken),
        n,
        want=4 * n + 2 * len(skipped),
        pool=pool_size(n, Filters()) + len(taken) + 2 * len(skipped),
        filters=Filters(),
        score=lambda _ids, vectors: (relevance(vectors, positives, skip_matrix, skip_weights), np.zeros(len(vectors))),
        choose=lambda candidates, vectors: pick(candidates, vectors, n, recent=recent, before=before, taken=taken),
    )
    anchors = table.facts(queries)
    chosen = table.facts(c.track_id for c, _ in found)
    layout = layout_of(index.meta.model_name, index.meta.model_version)
    seeds = set(state.seeds)
    results = []
    for c, vector in found:
        nearest = int(np.argmax(positives @ vector))
        anchor = positives[nearest]
        basis = "like seed" if queries[nearest] in seeds else "like played track"
        aspects = matching_aspects(layout, vector, anchor)
        why = explain(basis, chosen[c.track_id], anchors.get(queries[nearest]), float(vector @ anchor), aspects=aspects)
        results.append(result_of(chosen[c.track_id], c.relevance, why))
    return results


def record_feedback(session: Session, radio_id: str, track_id: int, event: str, position_s: float) -> Feedback:
    """Store that a served track was played through or skipped at ``position_s`` seconds (and, for a radio with a
    listener, the play as their listening event); InputError for a track this radio did not serve."""
    if event not in EVENTS:
        raise InputError(f"event must be one of {', '.join(EVENTS)}, got {event!r}")
    if not 0.0 <= position_s <= MAX_POSITION_S:
        raise InputError(f"position_s must be within [0, {MAX_POSITION_S:.0f}], got {position_s}")
    radio = get_radio(session, radio_id)
    served = session.scalars(
        select(RadioTrack).where(RadioTrack.session_id == radio.id, RadioTrack.track_id == track_id)
    ).one_or_none()
    if served is None:
        raise InputError(f"radio session {radio_id!r} has not served track {track_id}")
    weight = skip_weight(position_s, get_track(session, track_id).duration) if event == "skipped" else None
    served.event, served.weight = event, weight
    listener = session.get(User, radio.user_id) if radio.user_id is not None else None
    if listener is not None:
        ms_played = int(round(position_s * 1000))
        record_play(session, listener.id, track_id, datetime.now(UTC), ms_played=ms_played, skipped=event == "skipped")
    session.flush()
    return Feedback(radio.id, track_id, event, weight, listener.name if listener else None)
