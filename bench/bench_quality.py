"""Quality on real recordings: every representation row scored on the same excerpts, through the product's own code.

Data: the music of Debian game packages (free licences), one package = one album, fetched and cached with
their copyright files (``soundalike.demo.debian_music.fetch_package_music``). Each track is cut into up to
``MAX_EXCERPTS`` non-overlapping excerpts of ``EXCERPT_SECONDS`` (spread over the track, 5 % margins), written
as FLAC tagged with the album; tracks too short for two excerpts are left out and counted. A base name and
its fast variant (supertuxkart's ``X.ogg`` and ``X_fast.ogg``, ``farm_f.ogg``) are ONE track group: they count
as the same track, and labelling and listening histories take or leave a group whole.

The excerpts are ingested once through ``soundalike.ingest.pipeline.ingest`` (MusiCNN ingest consumer) into a
SQLite database under WORK_DIR, reused on later runs. A row is (key, label, embedding model, settings
overrides): the model's ``refresh`` writes its embeddings to the database and they are read back. The peer
bliss-rs (``pip install -e ".[bench]"``) is a row too: its 20-d descriptor per excerpt, standardised, stored as
the embeddings of a model named ``bliss``, ranked by Euclidean distance for retrieval.

Metrics, each over ``--seeds`` seeds (median, min, max):
- same-track R@1: the nearest other excerpt is of the query's track group;
- same-album P@10: of the 10 nearest excerpts outside the query's own track group, the share from its album
  (for these two the seeds are cluster-bootstrap replicates over track groups);
- tagging: a seeded third of each album's track groups labelled with the album name, ``genres train`` and
  ``genres predict`` tag the rest; beside it a StandardScaler + LogisticRegression on the same stored rows
  (``bench_genre_head.one_seed``);
- playlist precision: simulated listeners like two albums, their history is every excerpt of a random half
  of those albums' track groups; the share of the product's ``recommend`` playlist (10 tracks, history
  excluded) that comes from the liked albums, with chance (the liked share of the unheard catalogue) beside it;
- corpus genre (``--corpus``): genre accuracy on the rendered ``[demo]`` corpus split by piece (synthesised).

Each metric is also kept per package (``per_package``), with the ECE of the head's stored genre calls and the
share of its calls above 0.9 that were wrong; ``held_out`` scores each package by the row chosen on the other
packages among ``--candidates`` (leave one package out, rotating; see ``held_out.py``), written below the table
in ``quality.md``, and ``reliability.png`` shows every row's genre calls against their confidence.

Usage: ``python bench/bench_quality.py [WORK_DIR] [--music DIR] [--debs DIR] [--rows mfcc,bliss,...] [--corpus]
[--candidates KEY,...] [--json]``. Writes ``quality.json``, ``quality.md`` (tables for bench/RESULTS.md),
``quality.png`` and ``reliability.png`` in WORK_DIR after each row; rows scored by earlier runs on the same
excerpts, seeds and listeners are kept unless scored again, so a new row can be added with ``--rows KEY`` alone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import held_out
import mutagen
import numpy as np
import soundfile as sf
import soxr
import torch
from bench_genre_head import one_seed
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from soundalike.demo.debian_music import fetch_package_music
from soundalike.embed import adapt
from soundalike.embed.evaluation import Metric, cluster_bootstrap_mean, excerpt_neighbour_scores
from soundalike.embed.ingest_consumer import consumer_for
from soundalike.embed.models import embedding_model
from soundalike.embed.musicnn_encoder import MODEL_NAME as MUSICNN
from soundalike.embed.segments import segment_scoring
from soundalike.embed.store import embedding_version, load_embeddings, replace_embeddings, track_embeddings
from soundalike.index.backends import IndexBackend, resolve_index_backend
from soundalike.index.sync import sync_index
from soundalike.index.track_index import load_index
from soundalike.ingest.db.models import Track
from soundalike.ingest.db.session import open_database, session_scope
from soundalike.ingest.device import resolve_device
from soundalike.ingest.errors import ConfigError
from soundalike.ingest.paths import absolute_path, from_db_path
from soundalike.ingest.pipeline import IngestOptions, ingest
from soundalike.ingest.settings import Settings
from soundalike.recommend.evaluation import score
from soundalike.recommend.filters import Filters
from soundalike.recommend.playlist import PlaylistOptions, playlist_from_events
from soundalike.recommend.served_index import ServedIndex
from soundalike.recommend.similar import Options, similar_to_track
from soundalike.recommend.simulated_listeners import (
    MIN_GROUP_TRACKS,
    Listener,
    events_of,
    listener_liking,
)
from soundalike.recommend.track_table import TrackTable

PACKAGES = (
    "wesnoth-1.16-music",
    "hedgewars-data",
    "freedroidrpg-data",
    "supertuxkart-data",
    "planetblupi-music-ogg",
    "asc-music",
    "warzone2100-music",
    "supertux-data",
    "warmux-data",
    "flare-game",
    "marsshooter-data",
    "megaglest-data",
    "openclonk-data",
    "lincity-ng-data",
)
NO_MUSIC = {
    "neverball-data": "no music in this Debian release (levels, images and screenshots only)",
    "fb-music-high": "only a tracker module (frozen-mainzik-2p.xm), which no decoder here reads",
}
EXCERPT_SECONDS = 18.0
MAX_EXCERPTS = 4
MIN_EXCERPTS = 2
EXCERPT_RATE = 22050
MARGIN = 0.05
FAST_VARIANT = re.compile(r"_(fast|f)$")
SEEDS = 5
LISTENERS = 20
PLAYLIST_LENGTH = 10
BLISS = "bliss"
FUSION = "fusion"
BLISS_VERSION = "0.1.11-standardised"


@dataclass(frozen=True)
class Row:
    """One representation: key for ``--rows``, label, embedding model name, settings overrides, ranking metric;
    ``ranked``: retrieval scored through the product's similar-track ranking (``ranked_retrieval_scores``), for
    settings that change the ranking rather than the vectors (tagging and playlists are then the plain row's)."""

    key: str
    label: str
    model: str
    overrides: Mapping[str, object] = field(default_factory=dict)
    metric: Metric = "cosine"
    ranked: bool = False


ROWS = (
    Row("mfcc", "MFCC statistics (mfcc-stats)", "mfcc-stats"),
    Row("bliss", "bliss-rs 0.1.11 (peer), 20-d, standardised", BLISS, metric="euclidean"),
    Row("musicnn", "MusiCNN MSD mean (musicnn-msd, the previous default)", MUSICNN),
    Row("adapted", "MusiCNN + train adapt (musicnn-adapted)", adapt.MODEL_NAME),
    Row(
        "handcrafted",
        "fusion of handcrafted blocks (bliss-style): mfcc 1, chroma 0.5, rhythm 0.25",
        FUSION,
        {"fusion_blocks": "mfcc:1,chroma:0.5,rhythm:0.25"},
    ),
    Row("pooled", "fusion, pooled MusiCNN alone, standardised", FUSION, {"fusion_blocks": "musicnn:1"}),
    Row(
        "fusion",
        "fusion: pooled MusiCNN 1, mfcc 0.5, chroma 0.25, rhythm 0.1",
        FUSION,
        {"fusion_blocks": "musicnn:1,mfcc:0.5,chroma:0.25,rhythm:0.1"},
    ),
    Row("fusion-mfcc1", "fusion: pooled MusiCNN 1, mfcc 1", FUSION, {"fusion_blocks": "musicnn:1,mfcc:1"}),
    Row(
        "fusion-penult",
        "fusion: pooled 1, penultimate 0.5, mfcc 0.5, chroma 0.25, rhythm 0.1",
        FUSION,
        {"fusion_blocks": "musicnn:1,penultimate:0.5,mfcc:0.5,chroma:0.25,rhythm:0.1"},
    ),
    Row("fusion-spread", "fusion, default blocks, tagged by label spreading", FUSION, {"genre_tagger": "spreading"}),
    Row(
        "fusion-combined",
        "fusion, default blocks, tagged by head x label spreading",
        FUSION,
        {"genre_tagger": "combined"},
    ),
    Row(
        "fusion-penult-ranked",
        "fusion-penult, scored through the similar-track ranking (control for segments)",
        FUSION,
        {"fusion_blocks": "musicnn:1,penultimate:0.5,mfcc:0.5,chroma:0.25,rhythm:0.1"},
        ranked=True,
    ),
    Row(
        "fusion-segments",
        "fusion-penult re-ranked by best segment pairs (weight 0.5, 3 segments of 2 patches)",
        FUSION,
        {"fusion_blocks": "musicnn:1,penultimate:0.5,mfcc:0.5,chroma:0.25,rhythm:0.1", "segment_weight": 0.5},
        ranked=True,
    ),
    Row(
        "fusion-whiten",
        "fusion: pooled MusiCNN whitened to 64, mfcc 0.5, chroma 0.25, rhythm 0.1",
        FUSION,
        {"fusion_blocks": "musicnn:1:whiten64,mfcc:0.5,chroma:0.25,rhythm:0.1"},
    ),
    Row(
        "fusion-penult-chroma",
        "fusion: pooled 1, penultimate 0.5, chroma 0.25 (no MFCC)",
        FUSION,
        {"fusion_blocks": "musicnn:1,penultimate:0.5,chroma:0.25"},
    ),
    Row(
        "fusion-penult-light",
        "fusion: pooled 1, penultimate 0.5, mfcc 0.25, chroma 0.25, rhythm 0.1",
        FUSION,
        {"fusion_blocks": "musicnn:1,penultimate:0.5,mfcc:0.25,chroma:0.25,rhythm:0.1"},
    ),
    Row(
        "fusion-mtt",
        "fusion: pooled MSD 1 + pooled MTT 1, mfcc 0.5, chroma 0.25, rhythm 0.1",
        FUSION,
        {"fusion_blocks": "musicnn:1,mtt:1,mfcc:0.5,chroma:0.25,rhythm:0.1"},
    ),
)
PROJECTED_LOPO = Row(
    "projected-lopo",
    "fusion-penult + train project (album labels), leave one package out",
    "fusion-projected",
)
"""Not a catalogue-wide model (so not in ``ROWS``; ask for it with ``--rows projected-lopo``): ``projected_lopo``
trains the style map without each package's labels in turn."""
METRICS = {
    "same_track_r1": "same-track R@1",
    "same_album_p10": "same-album P@10",
    "tagging_head": "tagging, genre head",
    "tagging_lr": "tagging, scaler + LR",
    "playlist_precision": "playlist precision",
    "corpus_genre_head": "corpus genre, head",
    "corpus_genre_lr": "corpus genre, LR",
}


class RowUnavailable(Exception):
    """A row the product refuses to compute (e.g. an adaptation discarded by its own rule)."""


@dataclass(frozen=True)
class Item:
    """What an ingested file is: its album (class), the group labelled and heard together, the file."""

    album: str
    group: str
    path: str


@dataclass
class Catalogue:
    """An ingested catalogue: its database, base settings, device and the truth about each track id."""

    settings: Settings
    factory: sessionmaker[Session]
    device: torch.device
    items: dict[int, Item]


def track_group(stem: str) -> str:
    """The track group of a file name stem: a fast variant (``X_fast``, ``X_f``) belongs to its base ``X``."""
    return FAST_VARIANT.sub("", stem)


def excerpt_starts(duration: float, seconds: float) -> list[float]:
    """Start times of up to ``MAX_EXCERPTS`` non-overlapping excerpts spread over the track inside 5 % margins."""
    usable = duration * (1 - 2 * MARGIN)
    n = min(MAX_EXCERPTS, int(usable // seconds))
    if n < 1:
        return []
    return [float(s) for s in duration * MARGIN + np.linspace(0.0, usable - seconds, n)]


def write_excerpt(path: Path, y: np.ndarray, album: str, title: str) -> None:
    """Write mono ``y`` as 16-bit FLAC tagged with album and title (no artist: playlists cap artists)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), y, EXCERPT_RATE, format="FLAC", subtype="PCM_16")
    audio = mutagen.File(str(path), easy=True)
    audio["album"], audio["title"] = album, title
    audio.save()


def cut_package(package: str, sources: list[Path], out: Path, seconds: float) -> tuple[list[dict[str, str]], dict]:
    """Excerpts of one package's tracks, written under ``out``; returns them and the package's counts."""
    excerpts: list[dict[str, str]] = []
    short, total_s = [], 0.0
    for source in sources:
        data, rate = sf.read(str(source), dtype="float32", always_2d=True)
        y = soxr.resample(data.mean(axis=1), rate, EXCERPT_RATE)
        starts = excerpt_starts(len(y) / EXCERPT_RATE, seconds)
        if len(starts) < MIN_EXCERPTS:
            short.append(source.name)
            continue
        for n, start in enumerate(starts):
            first = int(round(start * EXCERPT_RATE))
            target = out / package / f"{source.stem}__{n}.flac"
            if not target.exists():
                write_excerpt(target, y[first : first + int(seconds * EXCERPT_RATE)], package, source.stem)
            excerpts.append({"path": str(target), "album": package, "group": f"{package}/{track_group(source.stem)}"})
            total_s += seconds
    counts = {
        "tracks": len(sources) - len(short),
        "groups": len({e["group"] for e in excerpts}),
        "excerpts": len(excerpts),
        "seconds": round(total_s),
        "left_out_short": short,
    }
    return excerpts, counts


def prepare_excerpts(music: Path, debs: Path, work: Path, packages: tuple[str, ...], seconds: float) -> dict:
    """Fetch the packages (cached), cut the excerpts (cached) and return the manifest, also kept as JSON."""
    manifest_path = work / "excerpts.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest["packages_asked"] == list(packages) and manifest["excerpt_seconds"] == seconds:
            return manifest
    manifest = {"packages_asked": list(packages), "excerpt_seconds": seconds, "excerpts": [], "packages": {}}
    manifest["skipped_packages"] = {p: NO_MUSIC[p] for p in packages if p in NO_MUSIC}
    for package in (p for p in packages if p not in NO_MUSIC):
        sources = fetch_package_music(package, debs, music)
        excerpts, counts = cut_package(package, sources, work / "excerpts", seconds)
        manifest["excerpts"] += excerpts
        manifest["packages"][package] = counts
    manifest_path.write_text(json.dumps(manifest, indent=1))
    return manifest


def open_catalogue(folder: Path, home: Path, truth: dict[str, tuple[str, str]], rows: list[Row]) -> Catalogue:
    """Ingest ``folder`` through the product (MusiCNN consumer when a MusiCNN row runs) into ``home``'s SQLite."""
    musicnn = any(r.model in (MUSICNN, adapt.MODEL_NAME) for r in rows)
    home.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        home=home, database_url=f"sqlite:///{home / 'bench.db'}", embedding_model=MUSICNN if musicnn else "mfcc-stats"
    )
    factory = open_database(settings.db_url)
    device = resolve_device(settings.device)
    ingest(factory, [folder], IngestOptions(settings=settings, device=device, consumer=consumer_for(settings, device)))
    with session_scope(factory) as session:
        stored = session.execute(select(Track.id, Track.path).where(Track.status == "ok")).all()
    items = {}
    for track_id, path in stored:
        key = str(from_db_path(path).absolute())
        if key in truth:
            items[int(track_id)] = Item(*truth[key], key)
    return Catalogue(settings, factory, device, dict(sorted(items.items())))


def row_settings(catalogue: Catalogue, row: Row) -> Settings:
    """The catalogue's settings with the row's model and overrides, and a home of its own (models, index)."""
    home = catalogue.settings.home / "rows" / row.key
    home.mkdir(parents=True, exist_ok=True)
    model = row.model if row.model != BLISS else "mfcc-stats"
    return catalogue.settings.model_copy(update={"home": home, "embedding_model": model, **row.overrides})


def bliss_descriptors(paths: list[str], cache: Path) -> dict[str, np.ndarray]:
    """bliss-rs's 20-d analysis of each file (cached); a file it panics on is left out."""
    import bliss_audio  # the [bench] extra

    known: dict[str, np.ndarray] = {}
    if cache.exists():
        with np.load(cache, allow_pickle=False) as data:
            known = dict(zip(data["paths"].tolist(), data["vectors"], strict=True))
    for path in (p for p in paths if p not in known):
        try:
            known[path] = np.asarray(bliss_audio.Song(path).analysis, dtype=np.float32)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as error:  # noqa: BLE001 - a Rust panic surfaces as a BaseException
            print(f"bliss skipped {path}: {error}", file=sys.stderr)
    if known:
        np.savez(cache, paths=np.array(list(known)), vectors=np.stack(list(known.values())))
    return known


def store_bliss(session: Session, catalogue: Catalogue) -> None:
    """Standardise the bliss descriptors over the catalogue and store them as the ``bliss`` model's embeddings."""
    found = bliss_descriptors([i.path for i in catalogue.items.values()], catalogue.settings.home / "bliss.npz")
    ids = np.array([t for t, i in catalogue.items.items() if i.path in found], dtype=np.int64)
    matrix = np.stack([found[catalogue.items[int(t)].path] for t in ids])
    spread = matrix.std(axis=0)
    spread[spread < 1e-8] = 1.0
    replace_embeddings(session, BLISS, BLISS_VERSION, ids, (matrix - matrix.mean(axis=0)) / spread)


def embed_row(catalogue: Catalogue, row: Row) -> tuple[np.ndarray, np.ndarray, str, float]:
    """Bring the row's embeddings up to date in the database and read them back: (ids, vectors, version, seconds)."""
    settings = row_settings(catalogue, row)
    started = time.perf_counter()
    with session_scope(catalogue.factory) as session:
        if row.model == BLISS:
            store_bliss(session, catalogue)
        else:
            if row.model == adapt.MODEL_NAME and not (settings.models_dir / adapt.CHECKPOINT_FILE).exists():
                adapt.adapt_catalogue(session, settings, adapt.AdaptConfig())
            try:
                embedding_model(settings, catalogue.device).refresh(session)
            except ConfigError as error:
                raise RowUnavailable(str(error)) from error
        ids, vectors, version = load_embeddings(session, row.model)
    keep = np.isin(ids, list(catalogue.items))
    return ids[keep], vectors[keep], version or "", time.perf_counter() - started


def spread(values: list[float]) -> dict[str, object]:
    """Median, min and max of per-seed values, and the values."""
    return {
        "median": round(float(np.median(values)), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
        "seeds": [round(v, 4) for v in values],
    }


def retrieval_scores(catalogue: Catalogue, ids: np.ndarray, vectors: np.ndarray, row: Row, seeds: int) -> dict:
    """Same-track R@1 and same-album P@10 per excerpt, bootstrapped over track groups."""
    groups = [catalogue.items[int(t)].group for t in ids]
    albums = [catalogue.items[int(t)].album for t in ids]
    hit, precision = excerpt_neighbour_scores(vectors, groups, albums, k=10, metric=row.metric)
    return {
        "per_package": held_out.merge(
            held_out.package_means(hit, albums, "same_track_r1"),
            held_out.package_means(precision, albums, "same_album_p10"),
        ),
        "same_track_r1": spread([cluster_bootstrap_mean(hit, groups, seed=s) for s in range(seeds)]),
        "same_album_p10": spread([cluster_bootstrap_mean(precision, groups, seed=s) for s in range(seeds)]),
        "all_excerpts": {
            "same_track_r1": round(float(np.nanmean(hit)), 4),
            "same_album_p10": round(float(np.nanmean(precision)), 4),
        },
    }


def ranked_retrieval_scores(catalogue: Catalogue, row: Row, ids: np.ndarray, seeds: int) -> dict:
    """Same-track R@1 and same-album P@10 as ``retrieval_scores`` counts them, each excerpt's neighbours ranked by
    ``similar_to_track`` on the product's index (no diversity; the row's segment re-ranking)."""
    settings = row_settings(catalogue, row)
    groups = [catalogue.items[int(t)].group for t in ids]
    members: dict[str, list[int]] = {}
    for t, g in zip(ids.tolist(), groups, strict=True):
        members.setdefault(g, []).append(t)
    hit, precision = np.full(len(ids), np.nan), np.full(len(ids), np.nan)
    with session_scope(catalogue.factory) as session:
        index = served_index(session, settings, row.model, resolve_index_backend(catalogue.device))
        options = Options(diversity=0.0)
        for n, t in enumerate(ids.tolist()):
            item = catalogue.items[t]
            if len(members[item.group]) > 1:
                nearest = similar_to_track(session, index, t, 1, options)
                hit[n] = float(bool(nearest) and catalogue.items[nearest[0].track_id].group == item.group)
            others = Options(Filters(exclude=frozenset(members[item.group])), diversity=0.0)
            top = similar_to_track(session, index, t, 10, others)
            if top:
                precision[n] = float(np.mean([catalogue.items[r.track_id].album == item.album for r in top]))
        index.close()
        session.rollback()
    return {
        "same_track_r1": spread([cluster_bootstrap_mean(hit, groups, seed=s) for s in range(seeds)]),
        "same_album_p10": spread([cluster_bootstrap_mean(precision, groups, seed=s) for s in range(seeds)]),
        "all_excerpts": {
            "same_track_r1": round(float(np.nanmean(hit)), 4),
            "same_album_p10": round(float(np.nanmean(precision)), 4),
        },
    }


def tagging_scores(catalogue: Catalogue, row: Row, seeds: int, prefix: str) -> dict:
    """Head and scaler + LR accuracy over seeds, a third of each class's groups labelled (``one_seed``)."""
    truth = {t: (i.album, i.group) for t, i in catalogue.items.items()}
    models_dir = row_settings(catalogue, row).models_dir / "genre"
    with session_scope(catalogue.factory) as session:
        tagger = row_settings(catalogue, row).genre_tagger
        runs = [one_seed(session, models_dir, truth, s, model_name=row.model, tagger=tagger) for s in range(seeds)]
    accuracy = {k: [float(r[k]["accuracy"]) for r in runs] for k in ("head", "sklearn_lr_standardised")}  # type: ignore[index]
    return {
        **call_scores(catalogue, [r.pop("calls") for r in runs]),
        f"{prefix}_head": spread(accuracy["head"]),
        f"{prefix}_lr": spread(accuracy["sklearn_lr_standardised"]),
        f"{prefix}_runs": runs,
    }


def call_scores(catalogue: Catalogue, calls: list[dict[str, list]]) -> dict[str, object]:
    """Per package: tagging accuracy of head and LR and the confidence of the head's stored calls, every seed's
    unlabelled tracks pooled; and the reliability bins of all calls."""
    pooled = {k: [v for seed in calls for v in seed[k]] for k in calls[0]}
    albums = [catalogue.items[t].album for t in pooled["track_ids"]]
    confidence, right = np.array(pooled["confidence"]), np.array(pooled["head_right"])
    return {
        "per_package": held_out.merge(
            held_out.package_means(right.astype(float), albums, "tagging_head"),
            held_out.package_means(np.array(pooled["lr_right"], dtype=float), albums, "tagging_lr"),
            held_out.package_confidence(confidence, right, albums),
        ),
        "reliability": held_out.reliability_table(confidence, right),
    }


def served_index(session: Session, settings: Settings, model_name: str, backend: IndexBackend) -> ServedIndex:
    """The product's index of ``model_name``'s embeddings, rebuilt, with the track table and the settings' segment
    scoring: what ``serve`` loads."""
    sync_index(session, settings, model_name, backend=backend, rebuild=True)
    version = embedding_version(session, model_name)
    index = load_index(settings.index_dir, model_name, model_version=version, backend=backend)
    return ServedIndex(index, TrackTable.load(session), segment_scoring(settings))


def listeners_of(catalogue: Catalogue, ids: np.ndarray, n: int, rng: np.random.Generator) -> list[Listener]:
    """Listeners liking two albums; history: every excerpt of a random half of their track groups."""
    groups: dict[str, list[int]] = {}
    for t in ids:
        groups.setdefault(catalogue.items[int(t)].group, []).append(int(t))
    names = sorted(groups)
    by_album: dict[str, list[int]] = {}
    for g, name in enumerate(names):
        by_album.setdefault(catalogue.items[groups[name][0]].album, []).append(g)
    liked_from = sorted(a for a, gs in by_album.items() if len(gs) >= MIN_GROUP_TRACKS)
    made = []
    for i in range(n):
        pair = tuple(str(a) for a in rng.choice(liked_from, size=2, replace=False))
        by_group = listener_liking(f"listener-{i:03d}", pair, by_album, hold_out=0.5, rng=rng)
        heard = [t for g in by_group.history for t in groups[names[g]]]
        unheard = {t for g in by_group.held_out for t in groups[names[g]]}
        made.append(Listener(by_group.name, pair, heard, unheard))
    return made


def playlist_scores(catalogue: Catalogue, row: Row, ids: np.ndarray, seeds: int, listeners: int) -> dict:
    """Share of each simulated listener's playlist from their liked albums, and chance, over seeds."""
    settings = row_settings(catalogue, row)
    precision, chance, liked, by_listener = [], [], [], []
    with session_scope(catalogue.factory) as session:
        index = served_index(session, settings, row.model, resolve_index_backend(catalogue.device))
        vectors = track_embeddings(session, row.model, ids.tolist())
        facts = index.table.facts(ids.tolist())
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            per_listener, per_chance = [], []
            for listener in listeners_of(catalogue, ids, listeners, rng):
                events = events_of(listener.history, rng)
                made = playlist_from_events(session, index, listener.name, events, PlaylistOptions(n=PLAYLIST_LENGTH))
                playlist = [r.track_id for r in made.results]
                per_listener.append(score(playlist, listener, vectors, facts, PLAYLIST_LENGTH)[1])
                per_chance.append(len(listener.held_out) / (len(ids) - len(listener.history)))
                liked += listener.groups
                by_listener += [per_listener[-1]] * len(listener.groups)
            precision.append(float(np.mean(per_listener)))
            chance.append(float(np.mean(per_chance)))
        index.close()
        session.rollback()
    return {
        "playlist_precision": spread(precision),
        "playlist_chance": spread(chance),
        "per_package": held_out.package_means(by_listener, liked, "playlist_precision"),
    }


def score_row(catalogue: Catalogue, row: Row, seeds: int, listeners: int) -> dict:
    """Every real-recording metric of one row."""
    ids, vectors, version, seconds = embed_row(catalogue, row)
    out: dict[str, object] = {"label": row.label, "model": row.model, "version": version, "embed_s": round(seconds, 1)}
    out["overrides"] = dict(row.overrides)
    out["excerpts"] = len(ids)
    if row.ranked:
        out.update(ranked_retrieval_scores(catalogue, row, ids, seeds))
        return out
    parts = [
        retrieval_scores(catalogue, ids, vectors, row, seeds),
        tagging_scores(catalogue, row, seeds, "tagging"),
        playlist_scores(catalogue, row, ids, seeds, listeners),
    ]
    for part in parts:
        out.update(part)
    out["per_package"] = held_out.merge(*(part["per_package"] for part in parts))
    return out


def projected_lopo(catalogue: Catalogue, seeds: int, *, max_train: int = 4000) -> dict:
    """Same-track R@1 and same-album P@10 of each package's excerpts after a style map trained (the product's
    ``train_style_map``, album labels, excerpts of one track neither positive nor negative) on at most
    ``max_train`` excerpts of the other packages; every package is held out once, the untouched fusion-penult
    vectors scored on the same queries beside it."""
    from soundalike.embed.style_projection import ProjectConfig, apply, train_style_map

    base_row = next(r for r in ROWS if r.key == "fusion-penult")
    ids, vectors, version, _ = embed_row(catalogue, base_row)
    started = time.perf_counter()
    albums = [catalogue.items[int(t)].album for t in ids]
    groups = [catalogue.items[int(t)].group for t in ids]
    rng = np.random.default_rng(0)
    scored = {"fusion-penult": (np.full(len(ids), np.nan), np.full(len(ids), np.nan))}
    scored["projected"] = (np.full(len(ids), np.nan), np.full(len(ids), np.nan))
    for package in sorted(set(albums)):
        mine = np.array([a == package for a in albums])
        train = np.flatnonzero(~mine)
        train = np.sort(rng.choice(train, size=min(max_train, len(train)), replace=False))
        style_map = train_style_map(
            vectors[train], [albums[n] for n in train], [groups[n] for n in train], ProjectConfig()
        )
        for name, matrix in (("fusion-penult", vectors), ("projected", apply(style_map)(vectors))):
            hit, precision = excerpt_neighbour_scores(matrix, groups, albums, k=10)
            scored[name][0][mine], scored[name][1][mine] = hit[mine], precision[mine]
    out: dict[str, object] = {"label": PROJECTED_LOPO.label, "model": PROJECTED_LOPO.model, "version": version}
    out |= {"embed_s": round(time.perf_counter() - started, 1), "excerpts": len(ids), "overrides": {}}
    for name, (hit, precision) in scored.items():
        per_package = {
            p: {
                "same_track_r1": round(float(np.nanmean(hit[[a == p for a in albums]])), 3),
                "same_album_p10": round(float(np.nanmean(precision[[a == p for a in albums]])), 3),
            }
            for p in sorted(set(albums))
        }
        metrics = {
            "same_track_r1": spread([cluster_bootstrap_mean(hit, groups, seed=s) for s in range(seeds)]),
            "same_album_p10": spread([cluster_bootstrap_mean(precision, groups, seed=s) for s in range(seeds)]),
        }
        if name == "projected":
            out |= metrics
        out[f"held_out_{name}"] = {**metrics, "per_package": per_package}
    return out


def corpus_catalogue(work: Path, rows: list[Row]) -> Catalogue:
    """The rendered ``[demo]`` corpus (5 style families, pieces as groups), ingested under WORK_DIR/corpus."""
    from soundalike.demo.corpus import build_corpus

    manifest = build_corpus(work / "corpus" / "audio", per_genre=16, seconds=30.0, seed=0)
    truth = {str(p.path.absolute()): (p.genre, p.piece) for p in manifest.pieces}
    return open_catalogue(work / "corpus" / "audio", work / "corpus", truth, rows)


def score_corpus_row(catalogue: Catalogue, row: Row, seeds: int) -> dict:
    """Genre accuracy of head and scaler + LR on the rendered corpus, a third of each family's pieces labelled."""
    embed_row(catalogue, row)
    scores = tagging_scores(catalogue, row, seeds, "corpus_genre")
    return {k: v for k, v in scores.items() if k.startswith("corpus_genre") and not k.endswith("_runs")}


def run(
    work: Path,
    music: Path,
    debs: Path,
    rows: list[Row],
    *,
    packages: tuple[str, ...] = PACKAGES + tuple(NO_MUSIC),
    seeds: int = SEEDS,
    listeners: int = LISTENERS,
    corpus: bool = False,
    excerpt_seconds: float = EXCERPT_SECONDS,
    candidates: list[str] | None = None,
    on_row: Callable[[str], None] | None = None,
) -> dict:
    """Prepare the data, score every row, and return the report (also written as JSON, markdown and PNG);
    ``candidates``: the rows the leave-one-package-out choice is made among (None: ``held_out`` default)."""
    work.mkdir(parents=True, exist_ok=True)
    manifest = prepare_excerpts(music, debs, work, packages, excerpt_seconds)
    truth = {e["path"]: (e["album"], e["group"]) for e in manifest["excerpts"]}
    catalogue = open_catalogue(work / "excerpts", work / "real", truth, rows)
    report: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads",
        "data": {k: manifest[k] for k in ("packages", "skipped_packages", "excerpt_seconds")},
        "seeds": seeds,
        "listeners": listeners,
        "candidates": candidates,
        "rows": earlier_rows(work, manifest, seeds, listeners),
    }
    results: dict[str, dict] = report["rows"]  # type: ignore[assignment]
    for row in rows:
        if on_row:
            on_row(row.label)
        try:
            scored = (
                projected_lopo(catalogue, seeds)
                if row is PROJECTED_LOPO
                else score_row(catalogue, row, seeds, listeners)
            )
            results[row.key] = {**results.get(row.key, {}), **scored}
        except RowUnavailable as error:
            results[row.key] = {"label": row.label, "model": row.model, "unavailable": str(error)}
        write_reports(work, report)
    if corpus:
        rendered = corpus_catalogue(work, rows)
        for row in rows:
            if "unavailable" not in results[row.key] and row is not PROJECTED_LOPO:
                results[row.key].update(score_corpus_row(rendered, row, seeds))
                write_reports(work, report)
    return write_reports(work, report)


def earlier_rows(work: Path, manifest: dict, seeds: int, listeners: int) -> dict[str, dict]:
    """Rows scored by earlier runs in ``work`` on the same excerpts, seeds and listeners (kept unless re-scored)."""
    path = work / "quality.json"
    if not path.exists():
        return {}
    earlier = json.loads(path.read_text())
    same = earlier["data"]["packages"] == manifest["packages"] and (earlier["seeds"], earlier["listeners"]) == (
        seeds,
        listeners,
    )
    return dict(earlier["rows"]) if same else {}


def write_reports(work: Path, report: dict) -> dict:
    """Write the report as JSON, the markdown table and the PNG, rows in ``ROWS`` order; returns what was written."""
    order = {r.key: n for n, r in enumerate(ROWS)}
    shown = {**report, "rows": dict(sorted(report["rows"].items(), key=lambda kv: order.get(kv[0], len(order))))}
    shown["held_out"] = held_out.held_out_report(shown["rows"], report.get("candidates"))
    (work / "quality.json").write_text(json.dumps(shown, indent=1))
    labels = {k: r["label"] for k, r in shown["rows"].items()}
    (work / "quality.md").write_text(markdown_table(shown) + held_out.held_out_markdown(shown["held_out"], labels))
    plot(shown, work / "quality.png")
    reliable = {r["label"]: r["reliability"] for r in shown["rows"].values() if "reliability" in r}
    if reliable:
        held_out.reliability_png(reliable, work / "reliability.png")
    return shown


def cell(scores: dict, metric: str) -> str:
    """``median [min, max]`` of one metric, or a dash."""
    value = scores.get(metric)
    if not isinstance(value, dict):
        return "-"
    return f"{value['median']:.3f} [{value['min']:.2f}, {value['max']:.2f}]"


def shown_metrics(report: dict) -> list[str]:
    """The metrics some row has."""
    rows = report["rows"].values()
    return [m for m in METRICS if any(m in r for r in rows)]


def markdown_table(report: dict) -> str:
    """The results as a markdown table: one line per row, ``median [min, max]`` per metric."""
    metrics = shown_metrics(report)
    lines = [
        "| row | " + " | ".join(METRICS[m] for m in metrics) + " | embed s |",
        "|---|" + "---|" * (len(metrics) + 1),
    ]
    for scores in report["rows"].values():
        if "unavailable" in scores:
            lines.append(f"| {scores['label']} | not available: {scores['unavailable']} |")
            continue
        cells = " | ".join(cell(scores, m) for m in metrics)
        lines.append(f"| {scores['label']} | {cells} | {scores['embed_s']} |")
    chance = [r["playlist_chance"]["median"] for r in report["rows"].values() if "playlist_chance" in r]
    if chance:
        lines.append(f"\nPlaylist chance (share of the unheard catalogue from the liked albums): {chance[0]:.3f}")
    return "\n".join(lines) + "\n"


def plot(report: dict, path: Path) -> None:
    """Grouped bars: each metric's median per row, with bars from min to max."""
    metrics = shown_metrics(report)
    rows = [r for r in report["rows"].values() if "unavailable" not in r]
    fig = Figure(figsize=(max(8, 1.6 * len(metrics)), 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    width = 0.8 / max(len(rows), 1)
    for n, scores in enumerate(rows):
        x = np.arange(len(metrics)) + (n - (len(rows) - 1) / 2) * width
        med = [scores[m]["median"] if m in scores else np.nan for m in metrics]
        low = [scores[m]["median"] - scores[m]["min"] if m in scores else 0 for m in metrics]
        high = [scores[m]["max"] - scores[m]["median"] if m in scores else 0 for m in metrics]
        ax.bar(x, med, width, yerr=[low, high], capsize=2, label=scores["label"])
    ax.set_xticks(np.arange(len(metrics)), [METRICS[m] for m in metrics], rotation=20, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("median over seeds (bars: min-max)")
    ax.set_title("Quality on real recordings (Debian game music)")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def readable(report: dict) -> str:
    """A plain-text table for people."""
    metrics = shown_metrics(report)
    header = f"{'row':46}" + "".join(f"{METRICS[m][:22]:>24}" for m in metrics)
    lines = [report["machine"], header]
    for scores in report["rows"].values():
        if "unavailable" in scores:
            lines.append(f"{scores['label'][:45]:46}not available: {scores['unavailable']}")
            continue
        lines.append(f"{scores['label'][:45]:46}" + "".join(f"{cell(scores, m):>24}" for m in metrics))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run the benchmark."""
    cache = Path.home() / ".cache" / "soundalike-bench"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("work", nargs="?", type=Path, default=cache / "quality", help="cached work folder")
    parser.add_argument("--music", type=Path, default=cache / "music", help="extracted packages, one folder each")
    parser.add_argument("--debs", type=Path, default=cache / "debs", help="downloaded .deb files")
    parser.add_argument("--rows", default=",".join(r.key for r in ROWS), help="comma-separated row keys")
    parser.add_argument("--seeds", type=int, default=SEEDS)
    parser.add_argument("--listeners", type=int, default=LISTENERS)
    parser.add_argument(
        "--candidates", help="comma-separated rows the held-out choice is made among (default: all but the peers)"
    )
    parser.add_argument("--corpus", action="store_true", help="also score genre accuracy on the rendered corpus")
    parser.add_argument("--json", action="store_true", help="print the JSON report instead of the table")
    args = parser.parse_args(argv)
    by_key = {r.key: r for r in (*ROWS, PROJECTED_LOPO)}
    candidates = args.candidates.split(",") if args.candidates else []
    unknown = [k for k in args.rows.split(",") + candidates if k not in by_key]
    if unknown:
        parser.error(f"unknown rows {unknown}; choose from {', '.join(by_key)}")
    rows = [by_key[k] for k in args.rows.split(",")]
    report = run(
        absolute_path(args.work),
        absolute_path(args.music),
        absolute_path(args.debs),
        rows,
        seeds=args.seeds,
        listeners=args.listeners,
        corpus=args.corpus,
        candidates=candidates or None,
        on_row=lambda label: print(f"scoring {label}", file=sys.stderr),
    )
    labels = {k: r["label"] for k, r in report["rows"].items()}
    table = readable(report) + held_out.held_out_markdown(report["held_out"], labels)
    print(json.dumps(report, indent=1) if args.json else table)


if __name__ == "__main__":
    main()
