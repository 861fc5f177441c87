"""Time SpectralExtractor against librosa on log-mel + MFCC of the same clips.

The librosa baseline takes one STFT per clip, as a careful caller would:
``melspectrogram`` -> ``power_to_db(top_db=80)`` -> ``mfcc(S=log_mel)``. Ours runs per clip and in
batches. The ingest feature set (MFCC statistics, tempo, key) is timed too: ``track_features.track_features``
per clip against ``TorchTrackFeatures`` over all clips at once. Each variant runs once to warm up, then
``--repeats`` times; the median is reported with
its ratio to the librosa median measured in the same run.

    .venv/bin/python bench/bench_features.py [--clips 50] [--seconds 30] [--batch-size 10 50] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

import librosa
import numpy as np
import torch

from soundalike.ingest.device import resolve_device
from soundalike.ingest.spectral import SpectralExtractor
from soundalike.ingest.torch_features import TorchTrackFeatures
from soundalike.ingest.track_features import track_features


def make_clips(*, n_clips: int, n_samples: int, sr: int, seed: int = 0) -> np.ndarray:
    """Seeded harmonic tones with noise, float32, shape (n_clips, n_samples)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_samples, dtype=np.float64) / sr
    clips = np.empty((n_clips, n_samples), dtype=np.float32)
    for i in range(n_clips):
        f0 = rng.uniform(80.0, 500.0)
        tone = sum((0.5 / k) * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 6))
        clips[i] = 0.5 * tone + 0.05 * rng.standard_normal(n_samples)
    return clips


def time_median(run: Callable[[], object], *, repeats: int, sync: Callable[[], None]) -> float:
    """Median wall time of ``run`` over ``repeats`` calls, after one warm-up call."""
    run()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--sr", type=int, default=22050)
    parser.add_argument("--batch-size", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()

    device = resolve_device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    clips = make_clips(n_clips=args.clips, n_samples=int(args.seconds * args.sr), sr=args.sr)
    extractor = SpectralExtractor(sr=args.sr, device=device)

    def librosa_per_clip() -> None:
        for y in clips:
            log_mel = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=args.sr), top_db=80.0)
            librosa.feature.mfcc(S=log_mel, sr=args.sr)

    def ours_per_clip() -> None:
        for y in clips:
            extractor.features(y)

    def ours_batched(batch_size: int) -> Callable[[], None]:
        def run() -> None:
            for start in range(0, len(clips), batch_size):
                extractor.features(clips[start : start + batch_size])

        return run

    track_batcher = TorchTrackFeatures(device)

    def librosa_track_features() -> None:
        for y in clips:
            track_features(y=y, sr=args.sr)

    def ours_track_features() -> None:
        track_batcher(list(clips), sr=args.sr)

    variants = {"librosa, per clip": librosa_per_clip, "soundalike, per clip": ours_per_clip}
    variants.update({f"soundalike, batches of {size}": ours_batched(size) for size in args.batch_size})
    variants["ingest features (MFCC stats, tempo, key), librosa"] = librosa_track_features
    variants["ingest features, torch batched"] = ours_track_features
    medians = {name: time_median(run, repeats=args.repeats, sync=sync) for name, run in variants.items()}
    baseline = medians["librosa, per clip"]
    report = {
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
        "clips": args.clips,
        "seconds": args.seconds,
        "sr": args.sr,
        "repeats": args.repeats,
        "median_s": medians,
        "speedup_vs_librosa": {name: baseline / seconds for name, seconds in medians.items()},
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(
        f"{args.clips} clips x {args.seconds:g} s at {args.sr} Hz on {device} "
        f"({report['torch_threads']} torch threads), median of {args.repeats}"
    )
    width = max(len(name) for name in medians) + 2
    print(f"{'variant':<{width}}{'median s':>10}{'clips/s':>10}{'vs librosa':>12}")
    for name, seconds in medians.items():
        print(f"{name:<{width}}{seconds:>10.3f}{args.clips / seconds:>10.1f}{baseline / seconds:>11.2f}x")


if __name__ == "__main__":
    main()
