"""Latency of the HTTP API on loopback: similar tracks and 1 000-event playlists at 100k and 1M indexed tracks.

Synthetic catalogue (clustered unit vectors, artists, years; tempo/key partly unknown) bulk-inserted into
SQLite with executemany, indexed with the production index choice, served by ``soundalike serve`` in a
subprocess. Each series is run ``--repeats`` times; the table reports the median p50/p99 over repeats.
Baselines from the same run: ``GET /health`` (HTTP floor) and an in-process ``TrackIndex.search`` (k=50, one
thread, as the server runs it);
the 1-minute load average is recorded after each size (the machine is shared).

    .venv/bin/python bench/bench_service.py --sizes 100000 1000000 --keep /tmp/bench-service
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import faiss
import httpx
import numpy as np
from sqlalchemy import insert

from soundalike.embed.store import put_embeddings
from soundalike.embed.unit_norm import unit_rows
from soundalike.index.streamed_build import build_index
from soundalike.index.track_index import load_index, save_index
from soundalike.ingest.db.models import ListeningEvent, Track, User
from soundalike.ingest.db.session import open_database, session_scope

DIM = 64
CHUNK = 50_000
USERS = 5
EVENTS_PER_USER = 1000


def populate(home: Path, count: int, rng: np.random.Generator) -> dict[str, float]:
    """Tracks, embeddings, index and 1 000-event histories; returns seconds per stage."""
    url = f"sqlite:///{home / 'soundalike.db'}"
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


def measure(home: Path, count: int, repeats: int, rng: np.random.Generator) -> dict[str, object]:
    port = free_port()
    env = {**os.environ, "SOUNDALIKE_EMBEDDING_MODEL": "mfcc-stats", "SOUNDALIKE_DATABASE_URL": ""}
    script = Path(sys.executable).with_name("soundalike")
    server = subprocess.Popen([str(script), "--home", str(home), "serve", "--port", str(port)], env=env)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            deadline = time.monotonic() + 300
            while True:
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start")
                time.sleep(0.2)
            index = load_index(home / "index", "mfcc-stats")
            faiss.omp_set_num_threads(1)  # as the server runs it (``serve --compute-threads 1``)
            queries = rng.standard_normal((200, DIM)).astype(np.float32)
            runs: dict[str, list[tuple[float, float]]] = {"health": [], "search": [], "similar": [], "playlist": []}
            series(client, [f"/tracks/{i}/similar?k=10" for i in rng.integers(1, count + 1, 20)])  # warm-up
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
    finally:
        server.terminate()
        server.wait(30)
    return {
        name: {
            "p50_ms": round(float(np.median([r[0] for r in rs])), 2),
            "p99_ms": round(float(np.median([r[1] for r in rs])), 2),
        }
        for name, rs in runs.items()
    } | {"factory": index.meta.factory}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="Keep each populated catalogue under this folder and reuse it.")
    parser.add_argument("--populate-only", action="store_true", help="Populate (under --keep) without measuring.")
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
                timings = populate(home, count, rng)
                done.write_text(json.dumps(timings))
            if args.populate_only:
                continue
            report[count] = timings | measure(home, count, args.repeats, rng) | {"load_avg": os.getloadavg()[0]}
            print(json.dumps({count: report[count]}), flush=True)


if __name__ == "__main__":
    main()
