"""Scale figures for docs/SCALE.md: ingest cost per track for each engine, database bytes per track, index bytes
per vector for each FAISS kind.

- ``engines``: the same folder ingested with the MusiCNN consumer by the local engine (``--workers``
  processes) and by the Ray engine (a local Ray of ``--workers`` CPUs), each into a fresh SQLite database, in
  this process, one after the other; then by the local engine into PostgreSQL when ``--postgres URL`` is
  given. Reports seconds per track and per audio minute, and the database bytes per track: the SQLite file,
  and on PostgreSQL the tables with their indexes and TOAST (``pg_total_relation_size``) over the empty
  schema's, plus the stored payload alone (path, tags, vectors).
- ``index``: synthetic unit vectors (200-d, or ``--dim``) indexed by the project builder for each kind at two sizes;
  the serialised index grows by the reported bytes per added vector (the slope between the sizes, so fixed
  parts such as IVF centroids drop out); the row map adds 16 bytes per track.

    .venv/bin/python bench/bench_scale.py --phase engines --music /work/data/music/wesnoth-1.16-music --tracks 8
    .venv/bin/python bench/bench_scale.py --phase index --sizes 5000 20000 [--dim 1853]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np
import ray
import torch
from sqlalchemy import create_engine, func, select, text

from soundalike.embed.ingest_consumer import MusicnnIngestConsumer
from soundalike.embed.musicnn_encoder import MusicnnEncoder
from soundalike.index.streamed_build import BuildOptions, build_index
from soundalike.ingest.db.models import Base, Embedding, Feature, Track
from soundalike.ingest.db.session import open_database
from soundalike.ingest.engine import AnalysisEngine, LocalEngine
from soundalike.ingest.pipeline import IngestOptions, ingest
from soundalike.ingest.ray_engine import RayEngine
from soundalike.ingest.settings import Settings

CPU = torch.device("cpu")
DIM = 200
KINDS = ("flat", "hnsw", "ivf_flat", "ivf_sq8", "ivf_pq")


def reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


def postgres_bytes(url: str) -> int:
    engine = create_engine(url)
    tables = [t.name for t in Base.metadata.sorted_tables]
    with engine.connect() as connection:
        total = sum(
            connection.scalar(text("SELECT pg_total_relation_size(to_regclass(:t))"), {"t": t}) or 0 for t in tables
        )
    engine.dispose()
    return int(total)


def payload_bytes(url: str) -> int:
    """The bytes of what an ingest stores per track, without any database overhead."""
    factory = open_database(url)
    with factory() as session:
        vectors = session.scalar(select(func.sum(func.length(Feature.vector)))) or 0
        vectors += session.scalar(select(func.sum(func.length(Embedding.vector)))) or 0
        text_columns = (Track.path, Track.title, Track.artist, Track.album, Track.content_hash, Track.key)
        texts = sum(session.scalar(select(func.sum(func.length(c)))) or 0 for c in text_columns)
    return int(vectors + texts)


def audio_minutes(url: str) -> float:
    factory = open_database(url)
    with factory() as session:
        return float(session.scalar(select(func.sum(Track.duration)).where(Track.status == "ok")) or 0) / 60


def timed_ingest(folder: Path, url: str, home: Path, engine: AnalysisEngine, encoder: MusicnnEncoder) -> dict:
    settings = Settings(home=home, database_url=url)
    factory = open_database(url)
    started = time.perf_counter()
    report = ingest(
        factory,
        [folder],
        IngestOptions(settings=settings, device=CPU, consumer=MusicnnIngestConsumer(encoder), engine=engine),
    )
    seconds = time.perf_counter() - started
    tracks = report.added + report.updated
    minutes = audio_minutes(url)
    return {
        "tracks": tracks,
        "failed": report.failed,
        "audio_min": round(minutes, 1),
        "seconds": round(seconds, 1),
        "s_per_track": round(seconds / max(tracks, 1), 2),
        "s_per_audio_min": round(seconds / max(minutes, 1e-9), 2),
        "load1": round(os.getloadavg()[0], 1),
    }


def engines_phase(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as scratch:
        folder = Path(scratch) / "music"
        folder.mkdir()
        for path in sorted(args.music.glob("*.ogg"))[: args.tracks]:
            shutil.copy(path, folder / path.name)
        encoder = MusicnnEncoder(CPU)
        rows = {}
        for name in ("local", "ray"):
            home = Path(scratch) / name
            home.mkdir()
            url = f"sqlite:///{home / 'catalogue.db'}"
            open_database(url)
            empty = (home / "catalogue.db").stat().st_size
            started = time.perf_counter()
            if name == "ray":  # started apart, as a cluster would already be running
                ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
                engine: AnalysisEngine = RayEngine()
            else:
                engine = LocalEngine(args.workers)
            start_s = round(time.perf_counter() - started, 1)
            row = timed_ingest(folder, url, home, engine, encoder) | {"engine_start_s": start_s}
            if name == "ray":
                ray.shutdown()
            with sqlite3.connect(home / "catalogue.db") as connection:  # the pages still in the write-ahead log
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            size = (home / "catalogue.db").stat().st_size
            row |= {"sqlite_bytes_per_track": round((size - empty) / row["tracks"])}
            row |= {"payload_bytes_per_track": round(payload_bytes(url) / row["tracks"])}
            rows[name] = row
            print(json.dumps({"engine": name, "database": "sqlite"} | row), flush=True)
        if args.postgres:
            reset_postgres(args.postgres)
            open_database(args.postgres)
            empty = postgres_bytes(args.postgres)
            home = Path(scratch) / "postgres"
            home.mkdir()
            row = timed_ingest(folder, args.postgres, home, LocalEngine(args.workers), encoder)
            row |= {"postgres_bytes_per_track": round((postgres_bytes(args.postgres) - empty) / row["tracks"])}
            print(json.dumps({"engine": "local", "database": "postgresql"} | row), flush=True)


def index_bytes(kind: str, n: int, seed: int, dim: int) -> int:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    built = build_index(
        np.arange(1, n + 1), vectors, model_name="bench", model_version="1", options=BuildOptions(kind=kind)
    )
    return int(faiss.serialize_index(built.cpu_index()).size)


def index_phase(args: argparse.Namespace) -> None:
    small, large = args.sizes
    for kind in KINDS:
        started = time.perf_counter()
        low, high = index_bytes(kind, small, 1, args.dim), index_bytes(kind, large, 2, args.dim)
        slope = (high - low) / (large - small)
        row = {"kind": kind, "dim": args.dim, "bytes": {small: low, large: high}, "bytes_per_vector": round(slope, 1)}
        print(json.dumps(row | {"seconds": round(time.perf_counter() - started, 1)}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phase", choices=["engines", "index"], required=True)
    parser.add_argument("--music", type=Path, default=Path("/work/data/music/wesnoth-1.16-music"))
    parser.add_argument("--tracks", type=int, default=8)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--postgres", help="a PostgreSQL URL to measure bytes per track on (emptied first)")
    parser.add_argument("--sizes", type=int, nargs=2, default=[5000, 20000])
    parser.add_argument("--dim", type=int, default=DIM, help="vector width for --phase index (fusion: 1853)")
    args = parser.parse_args()
    engines_phase(args) if args.phase == "engines" else index_phase(args)


if __name__ == "__main__":
    main()
