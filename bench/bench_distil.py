"""Quality of the cheaper representations on held-out recordings: the student, and fewer patches per track.

On folders never trained on (default: two Debian packages of the shared music cache), with the
teacher's outputs cached by ``embed.distil.collect``: the student's fidelity to MusiCNN (cosine of track
vectors, tags) and same-track / same-folder retrieval for both; then MusiCNN and the student with 16,
8, 4 and 2 patches per track (spread evenly, as ingestion spreads them), each scored against the
16-patch teacher vector of the same track.

    nice -n 10 .venv/bin/python bench/bench_distil.py --weights embed/weights/musicnn-student.safetensors
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from soundalike.embed.distil import PatchSet, collect, fidelity, student_outputs
from soundalike.embed.musicnn import load_musicnn
from soundalike.embed.musicnn_frontend import patch_indices
from soundalike.embed.student import SHIPPED_WEIGHTS, load_student
from soundalike.embed.unit_norm import unit_rows

MUSIC = Path("/work/data/music")
HELD_OUT = ("hedgewars-data", "freedroidrpg-data")


def patch_count_rows(held: PatchSet, outputs: dict[str, dict[str, np.ndarray]], counts: list[int]) -> list[dict]:
    """Per model and patch count: cosine of the track vector to the teacher's all-patch one, and R@1 of halves."""
    n = len(held.paths)
    name = "penultimate"
    reference = unit_rows(np.stack([held.targets[name][held.track == t].mean(axis=0) for t in range(n)]))
    rows = []
    for model, values in outputs.items():
        for count in counts:
            vectors, firsts, seconds = [], [], []
            for t in range(n):
                own = values[name][held.track == t]
                chosen = own[patch_indices(len(own), limit=count)]
                vectors.append(chosen.mean(axis=0))
                half = max(1, len(chosen) // 2)
                firsts.append(chosen[:half].mean(axis=0))
                seconds.append(chosen[half:].mean(axis=0) if len(chosen) > 1 else chosen[0])
            cosine = float(np.mean(np.sum(unit_rows(np.stack(vectors)) * reference, axis=1)))
            halves = unit_rows(np.stack(firsts)) @ unit_rows(np.stack(seconds)).T
            rows.append(
                {
                    "model": model,
                    "patches": count,
                    "cosine_to_teacher_all_patches": round(cosine, 4),
                    "halves_r1": round(float(np.mean(halves.argmax(axis=1) == np.arange(n))), 3),
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=SHIPPED_WEIGHTS)
    parser.add_argument("--held-out", type=Path, nargs="+", default=[MUSIC / name for name in HELD_OUT])
    parser.add_argument("--patches", type=int, default=16)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "soundalike-bench" / "distil")
    args = parser.parse_args()
    held = collect(args.held_out, load_musicnn(), per_track=args.patches, cache_dir=args.cache)
    student, version = load_student(args.weights)
    outputs = {"musicnn-msd": held.targets, "musicnn-student": student_outputs(student, held.patches)}
    counts = [c for c in (16, 8, 4, 2) if c <= args.patches]
    print(
        json.dumps(
            {
                "student": version,
                "held_out": [str(p) for p in args.held_out],
                "tracks": len(held.paths),
                "patches": len(held.patches),
                "fidelity": {k: round(v, 4) for k, v in fidelity(student, held).items()},
                "patch_counts": patch_count_rows(held, outputs, counts),
            }
        )
    )


if __name__ == "__main__":
    main()
