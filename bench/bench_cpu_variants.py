"""MusiCNN run different ways on the CPU, and the distilled student: patches per second, short runs.

Variants of the same network: eager fp32, channels-last, bf16 autocast (only when the CPU has bf16),
``torch.compile``, one and all threads, dynamic int8 (Linear layers) and static int8 (x86 back end,
calibrated on the same patches) with ``torch.ao``, and the runtimes ``SOUNDALIKE_CNN_RUNTIME`` selects
(``embed/musicnn_runtime.py``: ONNX Runtime fp32, and int8 calibrated on other patches); each also reports
its largest deviation from eager fp32 on the penultimate layer and the pooled features. Log-mel patches of
the recordings under ``--music`` (timed on one half of the files, int8 calibrated on the other), else
random log-mel-like patches; median of ``--repeats`` timed passes.

    nice -n 10 .venv/bin/python bench/bench_cpu_variants.py --batch 16 --repeats 3 \
        --music ~/.cache/soundalike-bench/music
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from soundalike.embed.musicnn import MusiCNN, load_musicnn
from soundalike.embed.musicnn_frontend import SAMPLE_RATE, musicnn_patches
from soundalike.embed.musicnn_runtime import OnnxMusicnn, fp32_onnx, quantise
from soundalike.embed.student import SHIPPED_WEIGHTS, Student, load_student, multiply_adds
from soundalike.ingest.audio import load

Forward = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor | None]]
"""Patches -> (penultimate layer, pooled features or None where the variant gives only the former)."""


def penultimate(model: Callable[[torch.Tensor], Any]) -> Forward:
    def run(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        out = model(x)
        return out.penultimate.float(), out.pooled.float()

    return run


def real_patches(music: Path, count: int, *, skip: int) -> torch.Tensor:
    """``count`` patches, 2 per recording, from every other recording under ``music`` starting at ``skip``."""
    files = sorted(p for p in music.rglob("*") if p.suffix.lower() in {".ogg", ".opus", ".flac", ".mp3", ".wav"})
    found: list[np.ndarray] = []
    for path in files[skip::2]:
        found.append(musicnn_patches(y=load(path, sr=SAMPLE_RATE).samples, limit=2))
        if sum(len(f) for f in found) >= count:
            break
    return torch.from_numpy(np.concatenate(found)[:count])


def patches_per_second(forward: Forward, x: torch.Tensor, repeats: int) -> float:
    with torch.inference_mode():
        forward(x)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            forward(x)
            times.append(time.perf_counter() - start)
    return len(x) / statistics.median(times)


def has_bf16() -> bool:
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    return "avx512_bf16" in flags or "amx_bf16" in flags


def static_int8(model: MusiCNN, calibration: torch.Tensor) -> Forward:
    """Post-training static quantisation (FX graph mode, x86 back end) of the convolutions and Linear layers."""
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    torch.backends.quantized.engine = "x86"

    class Trunk(torch.nn.Module):
        def __init__(self, inner: MusiCNN) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.inner(x).penultimate

    prepared = prepare_fx(Trunk(copy.deepcopy(model)).eval(), get_default_qconfig_mapping("x86"), (calibration,))
    with torch.inference_mode():
        prepared(calibration)
    converted = convert_fx(prepared)
    return lambda x: (converted(x).float(), None)


def variants(
    teacher: MusiCNN, x: torch.Tensor, calibration: torch.Tensor, models_dir: Path
) -> dict[str, Callable[[], Forward]]:
    def channels_last() -> Forward:
        model = copy.deepcopy(teacher).to(memory_format=torch.channels_last)
        return penultimate(model)

    def bf16() -> Forward:
        def run(inp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                out = teacher(inp)
                return out.penultimate.float(), out.pooled.float()

        return run

    def compiled() -> Forward:
        return penultimate(torch.compile(copy.deepcopy(teacher)))

    def compiled_dynamic() -> Forward:
        model = copy.deepcopy(teacher)
        model.compile(dynamic=True)
        return penultimate(model)

    def dynamic_int8() -> Forward:
        from torch.ao.quantization import quantize_dynamic

        return penultimate(quantize_dynamic(copy.deepcopy(teacher), {torch.nn.Linear}, dtype=torch.qint8))

    table: dict[str, Callable[[], Forward]] = {
        "eager fp32": lambda: penultimate(teacher),
        "channels-last fp32": channels_last,
        "torch.compile fp32": compiled,
        "torch.compile fp32, dynamic shapes (runtime compile)": compiled_dynamic,
        "ONNX Runtime fp32 (runtime onnx)": lambda: penultimate(OnnxMusicnn(fp32_onnx(models_dir))),
        "ONNX Runtime static int8 (runtime onnx-int8)": lambda: penultimate(
            OnnxMusicnn(quantise(fp32_onnx(models_dir), models_dir, calibration.numpy()))
        ),
        "dynamic int8 (Linear)": dynamic_int8,
        "static int8 (x86, FX)": lambda: static_int8(teacher, x[:8]),
    }
    if has_bf16():
        table["bf16 autocast"] = bf16
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="+", default=[os.cpu_count() or 1, 1])
    parser.add_argument("--student-weights", type=Path, default=SHIPPED_WEIGHTS)
    parser.add_argument("--music", type=Path, help="recordings to cut patches from (default: random patches)")
    parser.add_argument("--calibration", type=int, default=64, help="int8 calibration patches")
    parser.add_argument("--only", help="comma-separated substrings: run only the variants whose name has one")
    args = parser.parse_args()
    if args.music:
        x, calibration = (
            real_patches(args.music, args.batch, skip=0),
            real_patches(args.music, args.calibration, skip=1),
        )
    else:
        x, calibration = torch.randn(args.batch, 187, 96) * 0.5 + 1.0, torch.randn(args.calibration, 187, 96) * 0.5 + 1
    teacher = load_musicnn()
    student = load_student(args.student_weights)[0] if args.student_weights.is_file() else Student().eval()
    with torch.inference_mode():
        expected = teacher(x)
    reference, reference_pooled = expected.penultimate, expected.pooled
    scratch = tempfile.TemporaryDirectory(prefix="musicnn-onnx-")
    models_dir = Path(scratch.name)
    rows = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        candidates = (
            variants(teacher, x, calibration, models_dir)
            if threads == args.threads[0]
            else {"eager fp32": lambda: penultimate(teacher)}
        )
        candidates[f"student ({multiply_adds(student) / 1e6:.0f} MMAC)"] = lambda: penultimate(student)
        if args.only:
            candidates = {k: v for k, v in candidates.items() if any(part in k for part in args.only.split(","))}
        for name, build in candidates.items():
            load_average = os.getloadavg()[0]
            try:
                forward = build()
                rate = patches_per_second(forward, x, args.repeats)
                with torch.inference_mode():
                    got, got_pooled = forward(x)
                error = float((got - reference).abs().max())
                pooled_error = None if got_pooled is None else float((got_pooled - reference_pooled).abs().max())
            except Exception as exc:  # a variant this torch or CPU cannot run is a row, not a crash
                rows.append({"variant": name, "threads": threads, "error": f"{type(exc).__name__}: {exc}"[:200]})
                continue
            rows.append(
                {
                    "variant": name,
                    "threads": threads,
                    "patches_per_s": round(rate, 1),
                    "max_abs_diff_penultimate": round(error, 5),
                    "max_abs_diff_pooled": None if pooled_error is None else round(pooled_error, 5),
                    "load_average": round(load_average, 2),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    print(
        json.dumps(
            {
                "teacher_macs": multiply_adds(teacher),
                "bf16": has_bf16(),
                "capability": torch.backends.cpu.get_cpu_capability(),
                "patches": "real" if args.music else "random",
                "rows": rows,
            }
        )
    )
    scratch.cleanup()


if __name__ == "__main__":
    main()
