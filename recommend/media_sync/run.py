"""``soundalike sync``: for each account of a media server, pull its history, recommend, push the playlists.

A server that is down, refuses the credentials or answers nonsense is a recorded failure of that account
(in the run's ``errors``), never a crash; the next run tries again. Each run is kept in ``media_sync_runs``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from soundalike.ingest.db.models import MediaServerAccount, MediaSyncRun
from soundalike.ingest.db.session import close_database, open_database, session_scope
from soundalike.ingest.errors import SoundalikeError
from soundalike.ingest.listening import get_or_create_user
from soundalike.ingest.settings import Settings, load_settings
from soundalike.ingest.track_match import load_matcher
from soundalike.recommend.media_server import PathMap
from soundalike.recommend.media_sync.accounts import accounts_of, listener_name
from soundalike.recommend.media_sync.client import connect
from soundalike.recommend.media_sync.history import pull_history, server_song_ids
from soundalike.recommend.media_sync.push import push_playlist
from soundalike.recommend.media_sync.secrets import decrypt
from soundalike.recommend.mix_store import stored_mixes
from soundalike.recommend.playlist import playlist_for_user
from soundalike.recommend.track_table import CatalogueIndex

PERSONAL_PLAYLIST = "For you"
MIX_PLAYLIST = "Mix · "
DEFAULT_TIMEOUT_S = 30.0
UNMATCHED_SHOWN = 50
COUNTS = ("songs", "matched", "events_added", "playlists_created", "playlists_updated")
log = logging.getLogger("soundalike.sync")


@dataclass
class SyncReport:
    """Counts over every account synced, each failure, and the first unmatched songs with their reasons."""

    songs: int = 0
    matched: int = 0
    events_added: int = 0
    playlists_created: int = 0
    playlists_updated: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    unmatched: list[dict[str, str]] = field(default_factory=list)
    unmatched_count: int = 0

    def counts(self) -> dict[str, int]:
        """The counts alone."""
        return {name: getattr(self, name) for name in COUNTS}

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return self.counts() | {
            "errors": self.errors,
            "unmatched": self.unmatched_count,
            "unmatched_songs": self.unmatched,
        }


def sync_account(
    session: Session,
    settings: Settings,
    account: MediaServerAccount,
    index: CatalogueIndex | None,
    report: SyncReport,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> None:
    """Pull one account's history (committed), then push its personalised playlist and the library's mixes."""
    path_map = PathMap.parse(account.path_map or settings.subsonic_path_map)
    secret = decrypt(settings.home, account.secret)
    with connect(account.url, account.username, auth=account.auth, secret=secret, timeout=timeout) as client:
        songs = list(client.songs())
        user = get_or_create_user(session, listener_name(account))
        pulled = pull_history(session, account, user.id, songs, load_matcher(session), path_map, datetime.now(UTC))
        session.commit()
        report.songs += pulled.songs
        report.matched += pulled.matched
        report.events_added += pulled.events_added
        report.unmatched_count += len(pulled.unmatched)
        report.unmatched += pulled.unmatched[: max(UNMATCHED_SHOWN - len(report.unmatched), 0)]
        playlists = [(f"{MIX_PLAYLIST}{name}", track_ids) for _, name, track_ids in stored_mixes(session)]
        if index is None:
            report.errors.append({"account": user.name, "error": "no index to recommend from: run `index build`"})
        else:
            made = playlist_for_user(session, index, user.name)
            playlists.insert(0, (PERSONAL_PLAYLIST, [r.track_id for r in made.results]))
        for title, track_ids in playlists:
            song_ids = server_song_ids(session, account, track_ids)
            if not song_ids:
                if title == PERSONAL_PLAYLIST:
                    report.errors.append({"account": user.name, "error": f"no song of {title!r} is on the server"})
                continue
            outcome = push_playlist(session, client, account, title, song_ids).outcome
            report.playlists_created += outcome == "created"
            report.playlists_updated += outcome == "updated"
            session.commit()


def sync_servers(
    factory: sessionmaker[Session],
    settings: Settings,
    name: str | None,
    index: CatalogueIndex | None,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> SyncReport:
    """Sync every account of server ``name`` (of every server when None), one run recorded per server."""
    with session_scope(factory) as session:
        by_server: dict[str, list[int]] = {}
        for account in accounts_of(session, name):
            by_server.setdefault(account.name, []).append(account.id)
    report = SyncReport()
    for server, account_ids in by_server.items():
        part = SyncReport()
        with session_scope(factory) as session:
            run = MediaSyncRun(name=server, status="running")
            session.add(run)
            session.commit()
            for account_id in account_ids:
                account = session.get(MediaServerAccount, account_id)
                if account is None:
                    continue
                who = f"{account.name}:{account.username}"
                try:
                    sync_account(session, settings, account, index, part, timeout=timeout)
                except SoundalikeError as exc:
                    session.rollback()
                    part.errors.append({"account": who, "error": str(exc)})
                    log.warning("sync of %s failed: %s", who, exc)
            run = session.get(MediaSyncRun, run.id) or run
            run.status = "failed" if part.errors else "ok"
            run.finished_at = datetime.now(UTC)
            run.counts = json.dumps(part.counts() | {"unmatched": part.unmatched_count})
            run.errors = json.dumps(part.errors)
        _merge(report, part)
    return report


def _merge(total: SyncReport, part: SyncReport) -> None:
    for name in COUNTS:
        setattr(total, name, getattr(total, name) + getattr(part, name))
    total.errors += part.errors
    total.unmatched_count += part.unmatched_count
    total.unmatched += part.unmatched[: max(UNMATCHED_SHOWN - len(total.unmatched), 0)]


def scheduled_sync(home: str | None = None, name: str | None = None) -> SyncReport | None:
    """One scheduled sync of every server (or ``name``): failures are recorded and logged, never raised."""
    from soundalike.ingest.device import resolve_device
    from soundalike.recommend.service import Service

    settings = load_settings(Path(home) if home else None)
    factory = open_database(settings.db_url)
    try:
        index: CatalogueIndex | None
        try:
            index = Service.open(settings, factory, device=resolve_device(settings.device)).index
        except SoundalikeError as exc:
            log.warning("sync without recommendations: %s", exc)
            index = None
        report = sync_servers(factory, settings, name, index)
    except SoundalikeError as exc:
        log.error("sync failed: %s", exc)
        return None
    finally:
        close_database(factory)
    log.info("sync: %s, %d errors", report.counts(), len(report.errors))
    return report
