"""Where MusiCNN runs on a CPU: eager torch, ``torch.compile``, ONNX Runtime in fp32 or int8, or its student.

``SOUNDALIKE_CNN_RUNTIME`` picks one, once, in ``msd_encoder``; a CUDA device always runs eager torch. ``auto`` (the
default) is ``student`` on a CPU: of the CPU rows, the fastest whose quality on held-out packages of the
real-recording benchmark is within a point of the full model (bench/RESULTS.md). The ONNX graphs are made here from
the shipped weights, never downloaded: the fp32 graph is exported once per user into ``SOUNDALIKE_CACHE_DIR`` at
first use (named by the weights' digest); the int8 graph, in the models folder, is the fp32 one with static
quantisation of its convolutions and dense layers (``onnxruntime.quantization.quantize_static``, QDQ, per-channel
int8 weights, reduced range for CPUs without VNNI), calibrated on log-mel patches of the catalogue by ``soundalike
train quantise``.

Versions: ``compile`` and ``onnx`` give torch's vectors to float rounding (``tests/embed/test_musicnn_runtime.py``
holds them within 1e-4 of eager torch, 1e-5 relative on the pooled features that reach 100: well under what
separates two tracks), so they write torch's
``MODEL_VERSION`` and a catalogue may mix them. int8 vectors are different vectors: ``onnx-int8`` writes
``MODEL_VERSION`` + ``-int8-`` + the int8 graph's digest, so changing the runtime, or recalibrating, re-embeds
the catalogue at the next ``index build`` and an index of one is never searched with vectors of another.
``student`` runs the distilled student (``embed/student.py``, the catalogue's own ``train distil`` weights or the
shipped ones) in place of the network, through ONNX Runtime too (its graph exported into the cache like MusiCNN's),
and writes ``MODEL_VERSION`` + ``-`` + the student's version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sqlalchemy import select
from sqlalchemy.orm import Session
from torch import nn

from soundalike.embed import student
from soundalike.embed.decodable import each_decodable
from soundalike.embed.musicnn import WEIGHTS_DIR, MusiCNN, MusiCNNOutput, load_musicnn
from soundalike.embed.musicnn_encoder import MODEL_NAME, MODEL_VERSION, PatchEncoder
from soundalike.embed.musicnn_frontend import (
    MAX_PATCHES,
    N_MELS,
    PATCH_FRAMES,
    SAMPLE_RATE,
    musicnn_patches,
    patch_indices,
)
from soundalike.ingest.atomic_files import atomic_write
from soundalike.ingest.audio import load
from soundalike.ingest.db.models import Track
from soundalike.ingest.errors import ConfigError, NotFoundError, PreconditionError
from soundalike.ingest.paths import from_db_path
from soundalike.ingest.settings import Settings

CHECKPOINT = "MSD_musicnn"
INT8_FILE = "musicnn-msd-int8.onnx"
OUTPUTS = ("tags", "penultimate", "pooled")
ONNX_OPSET = 17


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:8]


class _Outputs(nn.Module):
    """MusiCNN's outputs as a tuple in ``OUTPUTS`` order: what an ONNX graph can return."""

    def __init__(self, model: MusiCNN) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        out = self.model(x)
        return out.tags, out.penultimate, out.pooled


def fp32_onnx(folder: Path) -> Path:
    """The fp32 ONNX graph of the shipped MSD MusiCNN, exported into ``folder`` on first use (named by the weights'
    digest, so one export serves every home and a new checkpoint gets a new file)."""
    weights = (WEIGHTS_DIR / f"{CHECKPOINT}.safetensors").read_bytes()
    return _exported(folder / f"musicnn-msd-{_digest(weights)}.onnx", lambda: load_musicnn(CHECKPOINT))


def student_onnx(weights: Path, folder: Path) -> Path:
    """The fp32 ONNX graph of the student in ``weights``, exported into ``folder`` on first use (named by the
    weights' digest, so retraining gives a new file)."""
    name = f"musicnn-student-{_digest(weights.read_bytes())}.onnx"
    return _exported(folder / name, lambda: student.load_student(weights)[0])


def _exported(path: Path, load: Callable[[], nn.Module]) -> Path:
    """``path``, after exporting the network ``load`` gives into it when it is not there yet."""
    if path.is_file():
        return path
    network = _Outputs(load()).eval()
    return atomic_write(
        path,
        lambda tmp: torch.onnx.export(
            network,
            (torch.zeros(2, PATCH_FRAMES, N_MELS),),
            str(tmp),
            input_names=["patches"],
            output_names=list(OUTPUTS),
            dynamic_axes={"patches": {0: "n", 1: "frames"}, **{name: {0: "n"} for name in OUTPUTS}},
            opset_version=ONNX_OPSET,
            dynamo=False,
        ),
    )


class _Calibration:
    """``onnxruntime.quantization.CalibrationDataReader`` over (n, 187, 96) patches, a batch at a time."""

    def __init__(self, patches: np.ndarray, batch: int = 16) -> None:
        self._batches: Iterator[np.ndarray] = iter(
            [np.ascontiguousarray(patches[i : i + batch], dtype=np.float32) for i in range(0, len(patches), batch)]
        )

    def get_next(self) -> dict[str, np.ndarray] | None:
        """The next batch as the graph's input, None when done."""
        batch = next(self._batches, None)
        return None if batch is None else {"patches": batch}


def quantise(fp32: Path, models_dir: Path, calibration: np.ndarray) -> Path:
    """Write the int8 graph into ``models_dir``: static quantisation of the ``fp32`` graph (``fp32_onnx``),
    calibrated on ``calibration`` patches."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    if calibration.ndim != 3 or calibration.shape[1:] != (PATCH_FRAMES, N_MELS) or len(calibration) == 0:
        raise ConfigError(f"calibration needs (n >= 1, {PATCH_FRAMES}, {N_MELS}) patches, got {calibration.shape}")
    return atomic_write(
        models_dir / INT8_FILE,
        lambda tmp: quantize_static(
            str(fp32),
            str(tmp),
            _Calibration(calibration),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["Conv", "Gemm"],
            per_channel=True,
            reduce_range=True,
            calibrate_method=CalibrationMethod.MinMax,
        ),
    )


def catalogue_patches(session: Session, settings: Settings, *, tracks: int, per_track: int) -> np.ndarray:
    """(n, 187, 96) patches of up to ``tracks`` ok tracks spread over the catalogue, ``per_track`` from each:
    the calibration set of ``quantise``; undecodable files are passed over."""
    rows = session.execute(select(Track.id, Track.path).where(Track.status == "ok").order_by(Track.id)).all()
    chosen = [(int(rows[i].id), from_db_path(rows[i].path)) for i in patch_indices(len(rows), limit=tracks)]
    found = [
        patches
        for _, patches in each_decodable(
            chosen,
            lambda item: musicnn_patches(
                y=load(item[1], sr=SAMPLE_RATE, max_bytes=settings.max_file_bytes).samples, limit=per_track
            ),
        )
    ]
    if not found:
        raise PreconditionError("no decodable tracks to calibrate on (run `soundalike ingest PATH` first)")
    return np.concatenate(found)


def int8_version(models_dir: Path) -> str:
    """The model version of vectors from the int8 graph in ``models_dir`` (NotFoundError before quantisation)."""
    path = models_dir / INT8_FILE
    if not path.is_file():
        raise NotFoundError(f"no int8 MusiCNN in {models_dir}: run `soundalike train quantise` first")
    return f"{MODEL_VERSION}-int8-{_digest(path.read_bytes())}"


class OnnxMusicnn(nn.Module):
    """MusiCNN's outputs (``MusiCNNOutput``) from an ONNX Runtime session on the CPU: a drop-in for the network."""

    def __init__(self, path: Path, threads: int | None = None) -> None:
        """Open ``path`` with ``threads`` intra-op threads (torch's count by default).

        Memory patterns are off: batch sizes vary, and they kept 1.7 GiB instead of 1.3 at the same speed.
        Idle threads sleep rather than spin: during an ingest the decoding workers need those cores."""
        super().__init__()
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        options.enable_mem_pattern = False
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session: Any = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def forward(self, x: torch.Tensor) -> MusiCNNOutput:
        """Tag probabilities and embeddings for log-mel patches of shape (N, time, 96)."""
        if x.ndim != 3 or x.shape[2] != N_MELS:
            raise ValueError(f"expected log-mel patches of shape (N, time, {N_MELS}), got {tuple(x.shape)}")
        feed = {"patches": np.ascontiguousarray(x.detach().cpu().numpy(), dtype=np.float32)}
        tags, penultimate, pooled = (torch.from_numpy(o) for o in self.session.run(list(OUTPUTS), feed))
        return MusiCNNOutput(tags=tags, penultimate=penultimate, pooled=pooled)


def cpu_runtime(settings: Settings, device: torch.device) -> str:
    """The runtime MusiCNN runs by on ``device``: eager ``torch`` on CUDA, ``student`` for ``auto`` on a CPU."""
    if device.type != "cpu":
        return "torch"
    return "student" if settings.cnn_runtime == "auto" else settings.cnn_runtime


def msd_version(settings: Settings, device: torch.device) -> str:
    """The model version the MSD encoder writes with these settings on ``device`` (CUDA always runs torch).

    Torch's ``MODEL_VERSION``, with the int8 graph's digest for ``onnx-int8`` or the student's version for
    ``student`` on a CPU, and ``-pN`` when
    ``SOUNDALIKE_MUSICNN_PATCHES`` is not the default: both make different vectors."""
    runtime = cpu_runtime(settings, device)
    if runtime == "onnx-int8":
        version = int8_version(settings.models_dir)
    elif runtime == "student":
        version = f"{MODEL_VERSION}-{student.weights_version(student.weights_path(settings))}"
    else:
        version = MODEL_VERSION
    return version if settings.musicnn_patches == MAX_PATCHES else f"{version}-p{settings.musicnn_patches}"


def msd_encoder(settings: Settings, device: torch.device) -> PatchEncoder[nn.Module]:
    """The MSD MusiCNN encoder on ``device``, run by ``settings.cnn_runtime`` on a CPU (eager torch on CUDA), encoding
    at most ``settings.musicnn_patches`` patches per track."""
    runtime = cpu_runtime(settings, device)
    version = msd_version(settings, device)
    model: nn.Module
    if runtime == "torch":
        model = load_musicnn(CHECKPOINT)
    elif runtime == "compile":
        model = load_musicnn(CHECKPOINT)
        model.compile(dynamic=True)
    elif runtime == "onnx":
        model = OnnxMusicnn(fp32_onnx(settings.cache_dir))
    elif runtime == "student":
        model = OnnxMusicnn(student_onnx(student.weights_path(settings), settings.cache_dir))
    else:
        model = OnnxMusicnn(settings.models_dir / INT8_FILE)
    return PatchEncoder(model, device, model_name=MODEL_NAME, version=version, patch_limit=settings.musicnn_patches)
