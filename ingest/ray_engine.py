"""The Ray engine: an ingest's analysis as Ray Data stages, on a local Ray or an existing cluster (``RAY_ADDRESS``).

The stages run the functions the local engine runs (``engine.analysis_steps``): the list of files is read
into a dataset, ``map_batches`` decodes and describes them on CPU workers, and, when a consumer embeds, an
actor pool builds its network once per actor (on a GPU each where the cluster has them) and encodes the
patches. Results stream back in the order given, so the run in the ingesting process stores them exactly
as it stores the local engine's. Every node must see the files under the same paths (a shared file system).
Ray is imported when an engine runs, so it stays an optional extra (``soundalike[ray]``).
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from soundalike.ingest.analysis import AudioFrontEnd, FileAnalysis
from soundalike.ingest.device import resolve_device
from soundalike.ingest.engine import EncoderFactory, PatchEncoder, analysis_steps
from soundalike.ingest.errors import ConfigError
from soundalike.ingest.settings import Device, Settings

CPU = torch.device("cpu")
Batch = dict[str, np.ndarray]


def _pack(analyses: list[FileAnalysis]) -> Batch:
    column = np.empty(len(analyses), dtype=object)
    column[:] = [pickle.dumps(a, protocol=pickle.HIGHEST_PROTOCOL) for a in analyses]
    return {"analysis": column}


def _unpack(batch: Batch) -> list[FileAnalysis]:
    return [pickle.loads(raw) for raw in batch["analysis"]]  # noqa: S301 - written by _pack in this run's workers


def analyse_batch(batch: Batch, *, settings: Settings, front_end: AudioFrontEnd | None) -> Batch:
    """Decode and describe a batch of files (``path`` holds their bytes) on a CPU worker."""
    steps = analysis_steps(settings, CPU, front_end)
    paths = [Path(os.fsdecode(bytes(raw))) for raw in batch["path"]]
    return _pack(list(steps.complete(map(steps.analyse, paths))))


class EncodeActor:
    """One worker of the encoder pool: the consumer's network, built once on this actor's device."""

    def __init__(self, make_encoder: EncoderFactory, device: Device) -> None:
        """Build the network on the device ``device`` resolves to here (CUDA when Ray gave this actor a GPU)."""
        self.encoder: PatchEncoder = make_encoder(resolve_device(device))

    def __call__(self, batch: Batch) -> Batch:
        """The batch's analyses with ``patches`` replaced by ``encoded``; failed analyses pass through."""
        analyses = _unpack(batch)
        todo = [n for n, a in enumerate(analyses) if a.error is None and a.patches is not None]
        encoded = self.encoder.encode_patches([analyses[n].patches for n in todo])
        for n, result in zip(todo, encoded, strict=True):
            analyses[n] = replace(analyses[n], patches=None, encoded=result)
        return _pack(analyses)


@dataclass(frozen=True)
class RayEngine:
    """Analysis on the Ray cluster this process is connected to, or the one ``RAY_ADDRESS`` names, else on a
    Ray started here for the run.

    ``decode_batch`` files go to a CPU task at a time; the encoder pool grows from one actor to one per GPU
    and encodes ``encode_batch`` analyses at a time. On a cluster without GPUs Ray fuses decoding into the
    encoder actors, so the pool grows to one actor per CPU.
    """

    decode_batch: int = 2
    encode_batch: int = 16

    def analyses(
        self,
        paths: list[Path],
        *,
        settings: Settings,
        device: torch.device,
        front_end: AudioFrontEnd | None,
        make_encoder: EncoderFactory | None,
    ) -> Iterator[FileAnalysis]:
        """``AnalysisEngine.analyses`` as Ray Data stages; the files come back in the order of ``paths``."""
        if not paths:
            return
        ray = _ray()
        started_here = not ray.is_initialized()
        if started_here:
            ray.init(log_to_driver=False, configure_logging=False)
        try:
            yield from self._stream(ray, paths, settings, front_end, make_encoder)
        finally:
            if started_here:
                ray.shutdown()

    def _stream(
        self,
        ray: Any,
        paths: list[Path],
        settings: Settings,
        front_end: AudioFrontEnd | None,
        make_encoder: EncoderFactory | None,
    ) -> Iterator[FileAnalysis]:
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False
        files = ray.data.from_items([{"path": os.fsencode(p)} for p in paths], override_num_blocks=len(paths))
        analysed = files.map_batches(
            analyse_batch,
            batch_size=self.decode_batch,
            batch_format="numpy",
            fn_kwargs={"settings": settings, "front_end": front_end},
            num_cpus=1,
        )
        if make_encoder is not None:
            resources = ray.cluster_resources()
            gpus = int(resources.get("GPU", 0))
            actors = gpus or max(int(resources.get("CPU", 1)), 1)
            analysed = analysed.map_batches(
                EncodeActor,
                batch_size=self.encode_batch,
                batch_format="numpy",
                fn_constructor_kwargs={"make_encoder": make_encoder, "device": settings.device},
                compute=ray.data.ActorPoolStrategy(min_size=1, max_size=actors),
                num_gpus=1 if gpus else 0,
            )
        for batch in analysed.iter_batches(batch_size=self.decode_batch, batch_format="numpy"):
            yield from _unpack(batch)


def _ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise ConfigError("the ray engine needs Ray: pip install 'soundalike[ray]'") from exc
    return ray
