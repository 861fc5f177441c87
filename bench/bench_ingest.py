"""Ingestion benchmarks: throughput against the plain librosa loop, memory, and re-runs.

Phases (each prints one JSON object; ``--phase all`` runs them in turn):

- ``throughput``: on the same synthesised full-length tracks, in the same run, the plain per-file loop
  (``librosa.load`` at 22050 Hz -> ``librosa.feature.mfcc`` -> ``librosa.feature.melspectrogram`` ->
  MusiCNN on every 3 s patch of the whole track, one process, nothing stored) against ``ingest`` with
  its process pool and the MusiCNN consumer (MFCC statistics, tempo, key, tags and MusiCNN embeddings
  stored in SQLite), then a second ``ingest`` of the unchanged catalogue. Repeated ``--repeats`` times
  on fresh databases; medians and per-run ratios are reported.
- ``rss``: peak RSS of the ingest process and of its largest worker for catalogues of small files
  (each size in a fresh subprocess, without the MusiCNN consumer).
- ``long``: peak RSS of ingesting one long file (default two hours) with the consumer.
- ``real``: on a folder of real recordings (default the shared cache of Debian game music), in the same
  run: the plain per-file librosa loop (load at 22050 Hz -> MFCC -> mel spectrogram, one process,
  librosa's JIT warmed up outside the timing), bliss-rs (``bliss-audio``, the ``[bench]`` extra), and
  the whole ``soundalike ingest`` command in a fresh process on a fresh database with each encoder
  (``musicnn-msd``, ``musicnn-msd@student``, and ``mfcc-stats``: no CNN, the pipeline's floor); medians of
  ``--repeats``, ratios to the librosa loop and to bliss, peak RSS, tracks per hour per core, CPU flags
  and load average, then a per-track breakdown of the stages (decode, resample, features, patches,
  CNN, database writes) timed one by one in this process on ``--breakdown-tracks`` files. An encoder may name
  how MusiCNN runs and how many patches it encodes, ``musicnn-msd@RUNTIME[:PATCHES]`` (``SOUNDALIKE_CNN_RUNTIME``,
  ``SOUNDALIKE_MUSICNN_PATCHES``; the fp32 ONNX graph is exported once before the timing, and its export time
  reported); ``--clip-seconds 30`` times clips of that length cut from the recordings instead of whole files.

    .venv/bin/python bench/bench_ingest.py --phase throughput --tracks 200 --repeats 1
    nice -n 10 .venv/bin/python bench/bench_ingest.py --phase real --repeats 3
    nice -n 10 .venv/bin/python bench/bench_ingest.py --phase real --clip-seconds 30 --limit 40 \
        --encoders musicnn-msd musicnn-msd@onnx musicnn-msd@onnx:4 musicnn-msd@compile mfcc-stats
    .venv/bin/python bench/bench_ingest.py --phase rss --sizes 100 2000
    .venv/bin/python bench/bench_ingest.py --phase throughput --device cuda --features auto   # on a GPU
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf
import torch

from soundalike.embed import student
from soundalike.embed.ingest_consumer import MusicnnIngestConsumer
from soundalike.embed.musicnn_encoder import BATCH_PATCHES, MusicnnEncoder, PatchEncoder
from soundalike.embed.musicnn_frontend import SAMPLE_RATE, musicnn_logmel, musicnn_patches, patches
from soundalike.embed.musicnn_runtime import fp32_onnx
from soundalike.ingest.audio import at_rate, decode
from soundalike.ingest.db.session import open_database
from soundalike.ingest.device import resolve_device
from soundalike.ingest.pipeline import IngestOptions, ingest
from soundalike.ingest.scan import scan
from soundalike.ingest.settings import Settings
from soundalike.ingest.track_features import track_features

CORPUS_SR = 44100


def _tone(midi: float, seconds: float, sr: int, *, harmonics: int, decay: float) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    freq = 440.0 * 2 ** ((midi - 69) / 12)
    y = sum((1.0 / k) * np.sin(2 * np.pi * k * freq * t) for k in range(1, harmonics + 1))
    return (y * np.exp(-decay * t)).astype(np.float32)


def _loop(rng: np.random.Generator, *, bpm: float, tonic: int, minor: bool, sr: int) -> np.ndarray:
    """Four bars of drums, bass and chords as a (2, samples) stereo array."""
    beat = 60.0 / bpm
    n = int(16 * beat * sr)
    left, right = np.zeros(n, np.float32), np.zeros(n, np.float32)
    kick = _tone(tonic - 24, 0.25, sr, harmonics=1, decay=18.0)
    snare = (rng.standard_normal(int(0.15 * sr)) * np.exp(-np.arange(int(0.15 * sr)) / (0.03 * sr))).astype(np.float32)
    hat = (rng.standard_normal(int(0.05 * sr)) * np.exp(-np.arange(int(0.05 * sr)) / (0.008 * sr))).astype(np.float32)
    third = 3 if minor else 4
    progression = [0, 9 if not minor else 8, 5, 7]
    for b in range(16):
        at = int(b * beat * sr)
        hit = kick if b % 2 == 0 else snare
        left[at : at + len(hit)] += 0.8 * hit[: n - at]
        right[at : at + len(hit)] += 0.8 * hit[: n - at]
        for half in (0, 1):
            h = at + int(half * beat * sr / 2)
            if rng.random() < 0.8:
                right[h : h + len(hat)] += 0.25 * hat[: max(0, n - h)]
        bass = _tone(tonic - 12 + progression[b // 4] + (7 if b % 4 == 3 else 0), beat, sr, harmonics=4, decay=3.0)
        left[at : at + len(bass)] += 0.5 * bass[: n - at]
        right[at : at + len(bass)] += 0.4 * bass[: n - at]
    for bar in range(4):
        at = int(bar * 4 * beat * sr)
        root = tonic + progression[bar]
        chord = np.sum([_tone(root + s, 4 * beat, sr, harmonics=3, decay=0.6) for s in (0, third, 7)], axis=0)
        left[at : at + len(chord)] += 0.25 * chord[: n - at]
        right[at : at + len(chord)] += 0.3 * chord[: n - at]
    return np.stack([left, right])


def synth_track(seed: int, seconds: float, sr: int = CORPUS_SR) -> np.ndarray:
    """Varied music-like stereo audio (frames, 2): sections of a looped groove in a few keys."""
    rng = np.random.default_rng(seed)
    bpm, tonic, minor = rng.uniform(70, 170), int(rng.integers(48, 60)), bool(rng.random() < 0.5)
    sections = [_loop(rng, bpm=bpm, tonic=tonic + int(s), minor=minor, sr=sr) for s in rng.choice([0, 2, 5, 7], 4)]
    total = int(seconds * sr)
    out = np.zeros((2, total), np.float32)
    at, k = 0, 0
    while at < total:
        piece = sections[k % len(sections)] * rng.uniform(0.6, 1.0)
        take = min(piece.shape[1], total - at)
        out[:, at : at + take] = piece[:, :take]
        at, k = at + take, k + 1
    out += 0.01 * rng.standard_normal(out.shape).astype(np.float32)
    return (0.7 * out / np.abs(out).max()).T


def build_corpus(folder: Path, *, tracks: int, min_seconds: float, max_seconds: float) -> list[Path]:
    """Write (or reuse) ``tracks`` stereo 44.1 kHz FLAC files of ``min_seconds``..``max_seconds``."""
    folder.mkdir(parents=True, exist_ok=True)
    lengths = np.random.default_rng(1234).uniform(min_seconds, max_seconds, tracks)
    paths = []
    for i, seconds in enumerate(lengths):
        path = folder / f"track_{i:04d}.flac"
        if not path.exists():
            partial = path.with_suffix(".part")
            sf.write(str(partial), synth_track(i, float(seconds)), CORPUS_SR, format="FLAC", subtype="PCM_16")
            partial.rename(path)
        paths.append(path)
    return paths


def plain_librosa_loop(paths: list[Path], encoder: MusicnnEncoder) -> float:
    """Seconds for the baseline loop over ``paths``: load, MFCC, mel, MusiCNN on the whole track."""
    start = time.perf_counter()
    for path in paths:
        y, sr = librosa.load(str(path), sr=22050)
        librosa.feature.mfcc(y=y, sr=sr)
        librosa.feature.melspectrogram(y=y, sr=sr)
        every = patches(musicnn_logmel(y=librosa.resample(y, orig_sr=sr, target_sr=SAMPLE_RATE)))
        with torch.inference_mode():
            for lo in range(0, len(every), BATCH_PATCHES):
                encoder.model(torch.from_numpy(every[lo : lo + BATCH_PATCHES]).to(encoder.device))
    return time.perf_counter() - start


def fused_ingest(
    paths: list[Path], encoder: MusicnnEncoder, *, workers: int, features: str
) -> tuple[float, float, int]:
    """(first ingest seconds, unchanged re-run seconds, tracks embedded) of exactly ``paths``, fresh SQLite."""
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home), device=encoder.device.type, feature_extractor=features)
        factory = open_database(settings.db_url)
        consumer = MusicnnIngestConsumer(encoder)
        start = time.perf_counter()
        ingest(
            factory, paths, IngestOptions(settings=settings, device=encoder.device, workers=workers, consumer=consumer)
        )
        first = time.perf_counter() - start
        start = time.perf_counter()
        report = ingest(
            factory,
            paths,
            IngestOptions(
                settings=settings, device=encoder.device, workers=workers, consumer=MusicnnIngestConsumer(encoder)
            ),
        )
        again = time.perf_counter() - start
        if report.added or report.updated:
            raise RuntimeError(f"re-run of an unchanged catalogue analysed files: {report.as_dict()}")
        return first, again, consumer.encoded


def phase_throughput(args: argparse.Namespace) -> dict[str, object]:
    paths = build_corpus(args.corpus, tracks=args.tracks, min_seconds=args.min_seconds, max_seconds=args.max_seconds)
    encoder = MusicnnEncoder(resolve_device(args.device))
    plain_librosa_loop(paths[:1], encoder)
    runs = []
    for _ in range(args.repeats):
        baseline = plain_librosa_loop(paths, encoder)
        first, again, encoded = fused_ingest(paths, encoder, workers=args.workers, features=args.features)
        if encoded != len(paths):
            raise RuntimeError(f"ingest embedded {encoded} tracks, the baseline processed {len(paths)}")
        runs.append(
            {
                "baseline_s": round(baseline, 2),
                "ingest_s": round(first, 2),
                "rerun_s": round(again, 3),
                "speedup": round(baseline / first, 2),
                "rerun_fraction": round(again / first, 4),
                "embedded": encoded,
            }
        )
    audio_minutes = sum(sf.info(str(p)).duration for p in paths) / 60
    return {
        "phase": "throughput",
        "tracks": len(paths),
        "audio_minutes": round(audio_minutes, 1),
        "workers": args.workers,
        "device": encoder.device.type,
        "features": args.features,
        "torch_threads": torch.get_num_threads(),
        "runs": runs,
        "median_speedup": statistics.median(r["speedup"] for r in runs),
        "median_rerun_fraction": statistics.median(r["rerun_fraction"] for r in runs),
    }


def _peak_rss_mib() -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"main_peak_rss_mib": round(own, 1), "largest_worker_peak_rss_mib": round(children, 1)}


def measure_child(args: argparse.Namespace) -> dict[str, object]:
    """Run one ingest in this (fresh) process and report its peak RSS."""
    folder = Path(args.measure)
    encoder = MusicnnEncoder(torch.device("cpu")) if args.with_consumer else None
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home))
        factory = open_database(settings.db_url)
        start = time.perf_counter()
        report = ingest(
            factory,
            [folder],
            IngestOptions(
                settings=settings,
                device=resolve_device(settings.device),
                workers=args.workers,
                consumer=MusicnnIngestConsumer(encoder) if encoder else None,
            ),
        )
        seconds = time.perf_counter() - start
    return {"files": report.added + report.failed, "seconds": round(seconds, 1), **_peak_rss_mib()}


def _in_subprocess(folder: Path, args: argparse.Namespace, *, with_consumer: bool) -> dict[str, object]:
    command = [sys.executable, __file__, "--measure", str(folder), "--workers", str(args.workers)]
    if with_consumer:
        command.append("--with-consumer")
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def phase_rss(args: argparse.Namespace) -> dict[str, object]:
    results = []
    for size in args.sizes:
        folder = args.corpus.parent / f"small_{size}"
        folder.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(size)
        for i in range(size):
            path = folder / f"s_{i:05d}.flac"
            if not path.exists():
                seconds = 4.0
                y = synth_track(i, seconds, sr=22050) + 0.001 * rng.standard_normal((int(seconds * 22050), 2))
                sf.write(str(path), y.astype(np.float32), 22050, format="FLAC", subtype="PCM_16")
        results.append({"files": size, **_in_subprocess(folder, args, with_consumer=False)})
    return {"phase": "rss", "file_seconds": 4.0, "consumer": False, "results": results}


def phase_long(args: argparse.Namespace) -> dict[str, object]:
    folder = args.corpus.parent / f"long_{int(args.long_minutes)}min"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "long.flac"
    if not path.exists():
        minute = synth_track(99, 60.0)
        with sf.SoundFile(str(path), "w", samplerate=CORPUS_SR, channels=2, format="FLAC", subtype="PCM_16") as f:
            for _ in range(int(args.long_minutes)):
                f.write(minute)
    result = _in_subprocess(folder, args, with_consumer=True)
    return {"phase": "long", "minutes": args.long_minutes, "file_mib": round(path.stat().st_size / 2**20, 1), **result}


REAL_MUSIC = Path("/work/data/music")
ENCODERS = ("musicnn-msd", "musicnn-msd@student", "mfcc-stats")


def machine() -> dict[str, object]:
    """CPU model, the SIMD flags that decide int8/bf16 kernels, torch's view of them, and the load."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "")
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "flags": {flag: flag in flags for flag in wanted},
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "load_average": os.getloadavg(),
    }


def librosa_loop(paths: list[Path]) -> float:
    """Seconds for the plain per-file loop: load at 22050 Hz, MFCC, mel spectrogram."""
    start = time.perf_counter()
    for path in paths:
        y, sr = librosa.load(str(path), sr=22050)
        librosa.feature.mfcc(y=y, sr=sr)
        librosa.feature.melspectrogram(y=y, sr=sr)
    return time.perf_counter() - start


def bliss_loop(paths: list[Path]) -> tuple[float, int]:
    """(seconds, failures) of bliss-rs's analysis of each file; its Rust panics are BaseExceptions."""
    from bliss_audio import Song

    failures = 0
    start = time.perf_counter()
    for path in paths:
        try:
            _ = Song(str(path)).analysis
        except BaseException:  # noqa: B036 -- a panic in bliss's Rust code is a BaseException
            failures += 1
    return time.perf_counter() - start, failures


def encoder_env(encoder: str) -> dict[str, str]:
    """The settings of an encoder name ``MODEL[@RUNTIME[:PATCHES]]``."""
    model, _, how = encoder.partition("@")
    runtime, _, patches = how.partition(":")
    env = {"SOUNDALIKE_EMBEDDING_MODEL": model}
    if runtime:
        env["SOUNDALIKE_CNN_RUNTIME"] = runtime
    if patches:
        env["SOUNDALIKE_MUSICNN_PATCHES"] = patches
    return env


def cli_ingest(
    folder: Path, encoder: str, *, workers: int, weights: Path | None, onnx_graph: Path | None = None
) -> dict[str, object]:
    """The whole ``soundalike ingest --json`` in a fresh process on a fresh SQLite database, with its peak RSS."""
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "SOUNDALIKE_HOME": home, "SOUNDALIKE_DEVICE": "cpu", **encoder_env(encoder)}
        (Path(home) / "models").mkdir()
        if weights is not None:
            (Path(home) / "models" / student.WEIGHTS_FILE).symlink_to(weights.resolve())
        if onnx_graph is not None:
            (Path(home) / "models" / onnx_graph.name).symlink_to(onnx_graph)
        cli = str(Path(sys.executable).parent / "soundalike")
        command = [cli, "ingest", str(folder), "--follow-symlinks", "--workers", str(workers), "--json"]
        start = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", *command], env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"ingest with {encoder} failed: {done.stderr[-2000:]}")
        report = json.loads(done.stdout)
        peak_kib = int(done.stderr.strip().splitlines()[-1])
    return {
        "seconds": seconds,
        "added": report["added"],
        "failed": report["failed"],
        "embedded": report["embedded"],
        "peak_rss_mib_largest_process": round(peak_kib / 1024, 1),
    }


def breakdown(paths: list[Path], encoders: dict[str, PatchEncoder[torch.nn.Module]]) -> dict[str, object]:
    """Mean seconds per track of each ingest stage, run one after another in this process."""
    stages: dict[str, list[float]] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        stages.setdefault(name, []).append(now - clock)
        clock = now

    with tempfile.TemporaryDirectory() as home:
        factory = open_database(Settings(home=Path(home)).db_url)
        for path in paths:
            clock = time.perf_counter()
            source = decode(path)
            lap("decode")
            audio = at_rate(source, 22050).samples
            lap("resample_22050")
            track_features(y=audio, sr=22050)
            lap("features_mfcc_tempo_key")
            y16 = at_rate(source, SAMPLE_RATE).samples
            lap("resample_16000")
            cut = musicnn_patches(y=y16)
            lap("musicnn_patches")
            for name, encoder in encoders.items():
                encoded = encoder.encode_patches([cut])[0]
                lap(f"cnn_{name}")
            _store_one(factory, path, encoded)
            lap("database_writes")
    per_track = {name: round(statistics.mean(values), 4) for name, values in stages.items()}
    return {"tracks": len(paths), "mean_seconds_per_track": per_track}


def _store_one(factory, path: Path, encoded) -> None:  # type: ignore[no-untyped-def]
    """One track row, its tags/pooled features and its embedding, committed, as ingest writes them."""
    from soundalike.embed.musicnn_encoder import store_track_features
    from soundalike.embed.store import put_embeddings
    from soundalike.ingest.db.models import Track

    with factory() as session:
        track = Track(path=str(path) + f"#{time.perf_counter_ns()}", size=0, mtime=0.0, status="ok")
        session.add(track)
        session.flush()
        store_track_features(session, track.id, encoded)
        put_embeddings(session, "bench", "1", np.array([track.id]), encoded.embedding[None])
        session.commit()


def cut_clips(paths: list[Path], folder: Path, seconds: float) -> list[Path]:
    """A WAV clip of ``seconds`` from each recording (from its middle when long enough), at its own rate."""
    clips = []
    for i, path in enumerate(paths):
        source = decode(path)
        length = int(seconds * source.sample_rate)
        start = max(0, (len(source.samples) - length) // 2)
        clips.append(folder / f"{i:04d}.wav")
        sf.write(clips[-1], source.samples[start : start + length], source.sample_rate)
    return clips


def phase_real(args: argparse.Namespace) -> dict[str, object]:
    every = sorted(scan([args.music], follow_symlinks=True))
    paths = every[:: max(1, len(every) // args.limit)][: args.limit] if args.limit else every
    with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryDirectory(prefix="musicnn-onnx-") as graphs:
        export_start = time.perf_counter()
        onnx_graph = fp32_onnx(Path(graphs))
        export_s = time.perf_counter() - export_start
        if args.clip_seconds:
            paths = cut_clips(paths, Path(folder), args.clip_seconds)
        else:
            for i, path in enumerate(paths):
                (Path(folder) / f"{i:04d}{path.suffix}").symlink_to(path)
        librosa_loop(paths[:1])
        runs = []
        for _ in range(args.repeats):
            run: dict[str, object] = {"load_average_before": os.getloadavg()[0]}
            run["librosa_s"] = librosa_loop(paths)
            run["bliss_s"], run["bliss_failures"] = bliss_loop(paths)
            for encoder in args.encoders:
                weights = (
                    args.student_weights if encoder_env(encoder).get("SOUNDALIKE_CNN_RUNTIME") == "student" else None
                )
                run[encoder] = {
                    **cli_ingest(Path(folder), encoder, workers=args.workers, weights=weights, onnx_graph=onnx_graph),
                    "load_average": os.getloadavg()[0],
                }
            runs.append(run)
        audio_minutes = sum(sf.info(str(p)).duration for p in paths) / 60
        encoders: dict[str, PatchEncoder[torch.nn.Module]] = {"musicnn-msd": MusicnnEncoder(torch.device("cpu"))}
        if args.student_weights.is_file():
            model, version = student.load_student(args.student_weights)
            encoders["musicnn-msd@student"] = PatchEncoder(
                model, torch.device("cpu"), model_name="student", version=version
            )
        stages = breakdown(paths[: args.breakdown_tracks], encoders) if args.breakdown_tracks else None
    medians: dict[str, float] = {
        "librosa_s": statistics.median(float(r["librosa_s"]) for r in runs),  # type: ignore[arg-type]
        "bliss_s": statistics.median(float(r["bliss_s"]) for r in runs),  # type: ignore[arg-type]
    }
    rows = {}
    cores = os.cpu_count() or 1
    for name in ("librosa_s", "bliss_s", *args.encoders):
        seconds = medians[name] if name in medians else statistics.median(r[name]["seconds"] for r in runs)  # type: ignore[index]
        rows[name] = {
            "median_s": round(seconds, 2),
            "ratio_to_librosa": round(medians["librosa_s"] / seconds, 3),
            "ratio_to_bliss": round(medians["bliss_s"] / seconds, 3),
            "tracks_per_hour_per_core": round(len(paths) / seconds * 3600 / cores, 1),
        }
        if name in args.encoders:
            rows[name]["peak_rss_mib"] = max(r[name]["peak_rss_mib_largest_process"] for r in runs)  # type: ignore[index]
            rows[name]["load_average"] = [r[name]["load_average"] for r in runs]  # type: ignore[index]
    return {
        "phase": "real",
        "machine": machine(),
        "tracks": len(paths),
        "clip_seconds": args.clip_seconds,
        "audio_minutes": round(audio_minutes, 1),
        "onnx_export_s": round(export_s, 2),
        "workers": args.workers,
        "torch_threads": torch.get_num_threads(),
        "medians": rows,
        "runs": runs,
        "breakdown": stages,
        "load_average_after": os.getloadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phase", choices=["throughput", "rss", "long", "real", "all"], default="all")
    parser.add_argument("--corpus", type=Path, default=Path(tempfile.gettempdir()) / "soundalike-bench" / "full")
    parser.add_argument("--tracks", type=int, default=200)
    parser.add_argument("--min-seconds", type=float, default=180.0)
    parser.add_argument("--max-seconds", type=float, default=300.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="cpu", help="for MusiCNN, both sides")
    parser.add_argument(
        "--features", choices=["auto", "librosa", "torch"], default="auto", help="ingest's MFCC/tempo/key path"
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 2000])
    parser.add_argument("--long-minutes", type=float, default=120.0)
    parser.add_argument("--music", type=Path, default=REAL_MUSIC, help="real recordings for --phase real")
    parser.add_argument("--limit", type=int, default=0, help="N recordings spread over the sorted list (0: all)")
    parser.add_argument(
        "--encoders", nargs="+", default=list(ENCODERS), help=f"{', '.join(ENCODERS)}, or musicnn-msd@RUNTIME[:PATCHES]"
    )
    parser.add_argument("--clip-seconds", type=float, default=0.0, help="--phase real on clips of this length")
    parser.add_argument("--student-weights", type=Path, default=student.SHIPPED_WEIGHTS)
    parser.add_argument("--breakdown-tracks", type=int, default=20)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--with-consumer", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure_child(args)))
        return
    phases = {"throughput": phase_throughput, "rss": phase_rss, "long": phase_long, "real": phase_real}
    for name, run in phases.items():
        if args.phase in (name, "all"):
            print(json.dumps(run(args)), flush=True)


if __name__ == "__main__":
    main()
