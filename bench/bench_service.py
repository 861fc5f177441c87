"""Latency of the HTTP API on loopback: similar tracks and 1 000-event playlists at 100k and 1M indexed tracks,
and (``--load``) throughput under 50 to 1 000 concurrent clients.

Synthetic catalogue (clustered unit vectors, artists, years; tempo/key partly unknown) bulk-inserted into
SQLite with executemany, indexed with the production index choice, served by ``soundalike serve`` in a
subprocess. Each series is run ``--repeats`` times; the table reports the median p50/p99 over repeats.
Baselines from the same run: ``GET /health`` (HTTP floor) and an in-process ``TrackIndex.search`` (k=50, one
thread, as the server runs it);
the 1-minute load average is recorded after each size (the machine is shared). The server's resident memory
(its processes together) is read once it has answered similar and playlist requests, and the track table's
alone is traced in this process (``tracemalloc``); with two sizes or more the bytes each adds per track are printed
(the slope between the smallest and the largest size).

    .venv/bin/python bench/bench_service.py --sizes 100000 1000000 --keep /tmp/bench-service

``--load``: ``soundalike serve --workers 1`` and ``2`` on one catalogue, each under 50, 200 and 1 000
concurrent keep-alive clients for ``--seconds`` each (a minimal asyncio HTTP/1.1 client in this process, so
the client costs less than the server). Each client loops over a mix: similar 40 %, playlist 20 %, track
20 %, audio 10 % (a 1 s WAV), a posted play 10 %; a client answered 503 waits its ``Retry-After``. Reported:
answered requests/s, p50/p99 ms of the answered, 503s shed, and errors (any other status or a broken
connection). ``--postgres URL`` runs the same on PostgreSQL.

    .venv/bin/python bench/bench_service.py --load --sizes 10000 --seconds 8
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import faiss
import httpx
import numpy as np
import soundfile as sf
from sqlalchemy import insert, update

from soundalike.embed.store import put_embeddings
from soundalike.embed.unit_norm import unit_rows
from soundalike.index.streamed_build import build_index
from soundalike.index.track_index import load_index, save_index
from soundalike.ingest.db.models import IngestRun, ListeningEvent, Track, User
from soundalike.ingest.db.session import open_database, session_scope
from soundalike.ingest.paths import to_db_path
from soundalike.recommend.api_keys import create_key
from soundalike.recommend.track_table import TrackTable

DIM = 64
CHUNK = 50_000
USERS = 5
EVENTS_PER_USER = 1000


AUDIO_TRACKS = 20
MIX = (("similar", 4), ("playlist", 2), ("track", 2), ("audio", 1), ("write", 1))
LOAD_CLIENTS = (50, 200, 1000)


def populate(home: Path, count: int, rng: np.random.Generator, url: str | None = None) -> dict[str, float]:
    """Tracks, embeddings, index and 1 000-event histories; returns seconds per stage."""
    url = url or f"sqlite:///{home / 'soundalike.db'}"
    factory = open_database(url)
    centres = rng.standard_normal((max(count // 500, 2), DIM)).astype(np.float32)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    vectors = np.empty((count, DIM), dtype=np.float32)
    with session_scope(factory) as session:
        for lo in range(0, count, CHUNK):
            hi = min(lo + CHUNK, count)
            labels = rng.integers(0, len(centres), hi - lo)
            block = centres[labels] + 0.6 * rng.standard_normal((hi - lo, DIM)).astype(np.float32)
            vectors[lo:hi] = unit_rows(block)
            rows = [
                {
                    "id": i + 1,
                    "path": f"/bench/{i}.flac",
                    "size": 1,
                    "mtime": 0.0,
                    "status": "ok",
                    "title": f"t{i}",
                    "artist": f"artist {int(labels[i - lo]) * 7 + i % 7}",
                    "album": f"album {labels[i - lo]}",
                    "year": 1960 + i % 60,
                    "tempo": None if i % 3 == 0 else 60.0 + i % 120,
                    "key": None if i % 4 == 0 else "C major",
                }
                for i in range(lo, hi)
            ]
            session.execute(insert(Track), rows)
            put_embeddings(session, "mfcc-stats", "bench", np.arange(lo + 1, hi + 1), vectors[lo:hi])
    timings["insert_s"] = time.perf_counter() - started
    started = time.perf_counter()
    track_index = build_index(np.arange(1, count + 1), vectors, model_name="mfcc-stats", model_version="bench")
    save_index(track_index, home / "index")
    timings["index_s"] = time.perf_counter() - started
    now = datetime(2025, 3, 1, tzinfo=UTC)
    with session_scope(factory) as session:
        for u in range(USERS):
            session.execute(insert(User), [{"id": u + 1, "name": f"user{u}"}])
            liked = rng.integers(1, count + 1, 300)
            events = [
                {
                    "user_id": u + 1,
                    "track_id": int(liked[e % 300]),
                    "played_at": now - timedelta(minutes=e),
                    "ms_played": 180_000,
                    "skipped": e % 10 == 0,
                }
                for e in range(EVENTS_PER_USER)
            ]
            session.execute(insert(ListeningEvent), events)
    return timings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentiles(samples: list[float]) -> tuple[float, float]:
    return float(np.percentile(samples, 50)), float(np.percentile(samples, 99))


def series(client: httpx.Client, paths: list[str]) -> tuple[float, float]:
    """(p50, p99) in ms of sequential GETs."""
    times = []
    for path in paths:
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{path} -> {response.status_code} {response.text[:200]}")
    return percentiles(times)


class Served(NamedTuple):
    """A running ``soundalike serve``: its port and process id."""

    port: int
    pid: int


def resident_bytes(pid: int) -> int:
    """Resident memory of process ``pid`` and every process below it (``VmRSS``)."""
    total = 0
    for status in Path(f"/proc/{pid}/status").read_text().splitlines():
        if status.startswith("VmRSS:"):
            total += int(status.split()[1]) * 1024
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            total += resident_bytes(int(child))
    return total


@contextmanager
def serving(home: Path, *, workers: int = 1, url: str = "") -> Iterator[Served]:
    """``soundalike serve`` on ``home`` in a subprocess; yields its port and pid once ``/health`` answers."""
    port = free_port()
    env = {**os.environ, "SOUNDALIKE_EMBEDDING_MODEL": "mfcc-stats", "SOUNDALIKE_DATABASE_URL": url}
    script = Path(sys.executable).with_name("soundalike")
    command = [str(script), "--home", str(home), "serve", "--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen(command, env=env)
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=60).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("server did not start")
            time.sleep(0.2)
        yield Served(port, server.pid)
    finally:
        server.terminate()
        server.wait(30)


def track_table_bytes(home: Path) -> int:
    """Python and numpy memory the in-memory track table of ``home``'s catalogue holds once loaded."""
    factory = open_database(f"sqlite:///{home / 'soundalike.db'}")
    tracemalloc.start()
    try:
        with session_scope(factory) as session:
            table = TrackTable.load(session)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(table) > 0
    return held


def measure(home: Path, count: int, repeats: int, rng: np.random.Generator) -> dict[str, object]:
    """Latency percentiles of each series (median over ``repeats``), and the server's resident memory once warm."""
    with serving(home) as (port, pid), httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        index = load_index(home / "index", "mfcc-stats")
        faiss.omp_set_num_threads(1)  # as the server runs it (``serve --compute-threads 1``)
        queries = rng.standard_normal((200, DIM)).astype(np.float32)
        runs: dict[str, list[tuple[float, float]]] = {"health": [], "search": [], "similar": [], "playlist": []}
        series(client, [f"/tracks/{i}/similar?k=10" for i in rng.integers(1, count + 1, 20)])  # warm-up
        series(client, [f"/users/user{u}/playlist?n=20" for u in range(USERS)])
        server_rss = resident_bytes(pid)
        for _ in range(repeats):
            runs["health"].append(series(client, ["/health"] * 200))
            times = []
            for q in queries:
                started = time.perf_counter()
                index.search(q, 50)
                times.append((time.perf_counter() - started) * 1000)
            runs["search"].append(percentiles(times))
            ids = rng.integers(1, count + 1, 200)
            runs["similar"].append(series(client, [f"/tracks/{i}/similar?k=10" for i in ids]))
            users = [f"user{u % USERS}" for u in range(50)]
            runs["playlist"].append(series(client, [f"/users/{u}/playlist?n=20" for u in users]))
    return {
        name: {
            "p50_ms": round(float(np.median([r[0] for r in rs])), 2),
            "p99_ms": round(float(np.median([r[1] for r in rs])), 2),
        }
        for name, rs in runs.items()
    } | {
        "factory": index.meta.factory,
        "server_rss_mib": round(server_rss / 2**20, 1),
        "track_table_mib": round(track_table_bytes(home) / 2**20, 1),
    }


def prepare_load(home: Path, url: str) -> str:
    """Real 1 s WAV files behind the first tracks, recorded as an ingest of their folder would (the audio route
    streams only such files); returns a new write key."""
    folder = home / "audio"
    folder.mkdir(exist_ok=True)
    tone = (0.1 * np.sin(2 * np.pi * 440 * np.arange(22050) / 22050)).astype(np.float32)
    with session_scope(open_database(url)) as session:
        session.add(IngestRun(roots=to_db_path(folder), finished_at=datetime.now(UTC), status="finished"))
        for track_id in range(1, AUDIO_TRACKS + 1):
            path = folder / f"{track_id}.wav"
            sf.write(path, tone, 22050)
            info = path.stat()
            values = {"path": to_db_path(path), "size": info.st_size, "mtime": info.st_mtime}
            session.execute(update(Track).where(Track.id == track_id).values(**values))
        return create_key(session, f"bench-{time.time_ns()}", "write")


@dataclass
class Tally:
    """What the clients of one run saw."""

    latencies_ms: list[float] = field(default_factory=list)
    shed: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


def next_request(client: int, turn: int, count: int, key: str, rng: np.random.Generator) -> bytes:
    """The client's ``turn``-th request of the mix, as raw HTTP/1.1."""
    kinds = [kind for kind, weight in MIX for _ in range(weight)]
    kind = kinds[(client + turn) % len(kinds)]
    method, body, headers = "GET", b"", ""
    if kind == "similar":
        path = f"/tracks/{rng.integers(1, count + 1)}/similar?k=10"
    elif kind == "playlist":
        path = f"/users/user{client % USERS}/playlist?n=20"
    elif kind == "track":
        path = f"/tracks/{rng.integers(1, count + 1)}"
    elif kind == "audio":
        path = f"/tracks/{rng.integers(1, AUDIO_TRACKS + 1)}/audio"
    else:
        played = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(seconds=client * 100_000 + turn)
        event = {"track_id": int(rng.integers(1, count + 1)), "played_at": played.isoformat()}
        method, path, body = "POST", f"/users/user{client % USERS}/events", json.dumps({"events": [event]}).encode()
        headers = f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Content-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    """Status and headers of one response, its body read and dropped (Content-Length bodies only)."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    headers = dict(
        (name.strip().lower(), value.strip()) for name, _, value in (line.partition(":") for line in head[1:] if line)
    )
    await reader.readexactly(int(headers.get("content-length", "0")))
    return int(head[0].split()[1]), headers


async def client_loop(port: int, client: int, count: int, key: str, until: float, tally: Tally) -> None:
    """One keep-alive client asking the mix until ``until``; a 503 makes it wait its Retry-After."""
    rng = np.random.default_rng(client)
    writer: asyncio.StreamWriter | None = None
    turn = 0
    while time.monotonic() < until:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            started = time.perf_counter()
            writer.write(next_request(client, turn, count, key, rng))
            status, headers = await read_response(reader)
            elapsed = (time.perf_counter() - started) * 1000
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as error:
            tally.error(type(error).__name__)
            if writer is not None:
                writer.close()
            writer = None
            await asyncio.sleep(0.1)
            continue
        turn += 1
        if 200 <= status < 300:
            tally.latencies_ms.append(elapsed)
        elif status == 503:
            tally.shed += 1
            if "retry-after" not in headers:
                tally.error("503 without Retry-After")
            await asyncio.sleep(float(headers.get("retry-after", "1")))
        else:
            tally.error(str(status))
        if headers.get("connection") == "close":
            writer.close()
            writer = None
    if writer is not None:
        writer.close()


def load_run(port: int, clients: int, count: int, key: str, seconds: float) -> dict[str, object]:
    """``clients`` concurrent clients for ``seconds``: answered requests/s, p50/p99 ms, shed and errors."""
    tally = Tally()

    async def run_all() -> None:
        until = time.monotonic() + seconds
        await asyncio.gather(*(client_loop(port, c, count, key, until, tally) for c in range(clients)))

    started = time.perf_counter()
    asyncio.run(run_all())
    wall = time.perf_counter() - started
    p50, p99 = percentiles(tally.latencies_ms) if tally.latencies_ms else (float("nan"), float("nan"))
    return {
        "clients": clients,
        "answered_per_s": round(len(tally.latencies_ms) / wall, 1),
        "p50_ms": round(p50, 1),
        "p99_ms": round(p99, 1),
        "shed_503": tally.shed,
        "errors": tally.errors,
        "load_avg": round(os.getloadavg()[0], 1),
    }


def load(home: Path, count: int, seconds: float, url: str) -> list[dict[str, object]]:
    """Every client count against ``serve --workers 1`` and ``2``."""
    key = prepare_load(home, url or f"sqlite:///{home / 'soundalike.db'}")
    rows = []
    for workers in (1, 2):
        with serving(home, workers=workers, url=url) as (port, _):
            load_run(port, 20, count, key, 1.0)  # warm-up: every worker loads its index
            for clients in LOAD_CLIENTS:
                row = {"workers": workers, "database": "postgresql" if url else "sqlite"}
                rows.append(row | load_run(port, clients, count, key, seconds))
                print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="Keep each populated catalogue under this folder and reuse it.")
    parser.add_argument("--populate-only", action="store_true", help="Populate (under --keep) without measuring.")
    parser.add_argument("--load", action="store_true", help="Concurrent clients instead of sequential latency.")
    parser.add_argument("--seconds", type=float, default=8.0, help="Length of each --load run.")
    parser.add_argument("--postgres", default="", help="Run --load on this (emptied) PostgreSQL database URL.")
    args = parser.parse_args()
    report = {}
    for count in args.sizes:
        rng = np.random.default_rng(count)
        with tempfile.TemporaryDirectory(prefix="bench-service-") as folder:
            home = args.keep / str(count) if args.keep else Path(folder)
            done = home / "populated.json"
            if done.exists():
                timings = json.loads(done.read_text())
            else:
                home.mkdir(parents=True, exist_ok=True)
                timings = populate(home, count, rng, args.postgres or None)
                done.write_text(json.dumps(timings))
            if args.populate_only:
                continue
            if args.load:
                load(home, count, args.seconds, args.postgres)
                continue
            report[count] = timings | measure(home, count, args.repeats, rng) | {"load_avg": os.getloadavg()[0]}
            print(json.dumps({count: report[count]}), flush=True)
    if len(report) >= 2:
        (small, low), (large, high) = sorted(report.items())[0], sorted(report.items())[-1]
        per_track = {
            name.removesuffix("_mib") + "_bytes_per_track": round(
                (float(str(high[name])) - float(str(low[name]))) * 2**20 / (large - small)
            )
            for name in ("server_rss_mib", "track_table_mib")
        }
        print(json.dumps(per_track), flush=True)


if __name__ == "__main__":
    main()
