"""MusiCNN run different ways on the CPU, and the distilled student: patches per second, short runs.

Variants of the same network: eager fp32, channels-last, bf16 autocast (only when the CPU has bf16),
``torch.compile``, one and all threads, dynamic int8 (Linear layers) and static int8 (x86 back end,
calibrated on the same patches) with ``torch.ao``; each also reports its largest deviation from eager
fp32 on the penultimate layer. Random log-mel-like patches; median of ``--repeats`` timed passes.

    nice -n 10 .venv/bin/python bench/bench_cpu_variants.py --batch 32 --repeats 3
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

from soundalike.embed.musicnn import MusiCNN, load_musicnn
from soundalike.embed.student import SHIPPED_WEIGHTS, Student, load_student, multiply_adds

Forward = Callable[[torch.Tensor], torch.Tensor]


def penultimate(model: torch.nn.Module) -> Forward:
    return lambda x: model(x).penultimate.float()


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
    return lambda x: converted(x).float()


def variants(teacher: MusiCNN, x: torch.Tensor) -> dict[str, Callable[[], Forward]]:
    def channels_last() -> Forward:
        model = copy.deepcopy(teacher).to(memory_format=torch.channels_last)
        return penultimate(model)

    def bf16() -> Forward:
        def run(inp: torch.Tensor) -> torch.Tensor:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return teacher(inp).penultimate.float()

        return run

    def compiled() -> Forward:
        return penultimate(torch.compile(copy.deepcopy(teacher)))

    def dynamic_int8() -> Forward:
        from torch.ao.quantization import quantize_dynamic

        return penultimate(quantize_dynamic(copy.deepcopy(teacher), {torch.nn.Linear}, dtype=torch.qint8))

    table: dict[str, Callable[[], Forward]] = {
        "eager fp32": lambda: penultimate(teacher),
        "channels-last fp32": channels_last,
        "torch.compile fp32": compiled,
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
    args = parser.parse_args()
    x = torch.randn(args.batch, 187, 96) * 0.5 + 1.0
    teacher = load_musicnn()
    student = load_student(args.student_weights)[0] if args.student_weights.is_file() else Student().eval()
    with torch.inference_mode():
        reference = teacher(x).penultimate
    rows = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        candidates = (
            variants(teacher, x) if threads == args.threads[0] else {"eager fp32": lambda: penultimate(teacher)}
        )
        candidates[f"student ({multiply_adds(student) / 1e6:.0f} MMAC)"] = lambda: penultimate(student)
        for name, build in candidates.items():
            load = os.getloadavg()[0]
            try:
                forward = build()
                rate = patches_per_second(forward, x, args.repeats)
                with torch.inference_mode():
                    error = float((forward(x) - reference).abs().max())
            except Exception as exc:  # a variant this torch or CPU cannot run is a row, not a crash
                rows.append({"variant": name, "threads": threads, "error": f"{type(exc).__name__}: {exc}"[:200]})
                continue
            rows.append(
                {
                    "variant": name,
                    "threads": threads,
                    "patches_per_s": round(rate, 1),
                    "max_abs_diff_penultimate": round(error, 5),
                    "load_average": round(load, 2),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    print(
        json.dumps(
            {
                "teacher_macs": multiply_adds(teacher),
                "bf16": has_bf16(),
                "capability": torch.backends.cpu.get_cpu_capability(),
                "rows": rows,
            }
        )
    )


if __name__ == "__main__":
    main()
