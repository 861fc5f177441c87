"""Convert musicnn's MusiCNN TensorFlow checkpoints to safetensors and record reference outputs.

Reads the ``MSD_musicnn`` and ``MTT_musicnn`` checkpoints shipped in the ``musicnn`` 0.1.0 wheel
(ISC licence, Jordi Pons and Xavier Serra) and writes:

- ``embed/weights/<name>.safetensors``: float32 tensors named after the state_dict of
  ``soundalike.embed.musicnn.MusiCNN`` (Adam slot variables dropped);
- ``embed/weights/LICENSE-musicnn.txt``: musicnn's licence with a note on where the weights come from;
- ``tests/data/musicnn_reference.npz``: log-mel patches of a seeded synthetic signal and what the
  ORIGINAL TensorFlow graph (imported from the checkpoint's ``.meta``, not re-implemented) outputs for
  them: tags, penultimate layer, mean- and max-pooled mid-level features.

TensorFlow is never a project dependency: run this once in a throwaway venv, from the repo root::

    python3 -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install tensorflow-cpu safetensors numpy librosa
    pip download --no-deps musicnn==0.1.0 -d /tmp/musicnn_whl
    unzip -q /tmp/musicnn_whl/musicnn-0.1.0-py3-none-any.whl -d /tmp/musicnn_whl/unz
    /tmp/tfvenv/bin/python scripts/convert_musicnn.py --wheel /tmp/musicnn_whl/unz

Checked with tensorflow-cpu 2.21, numpy 2.4, librosa 0.11.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import librosa
import numpy as np
import tensorflow as tf
from safetensors.numpy import save

REPO = Path(__file__).resolve().parent.parent
MODELS = ("MSD_musicnn", "MTT_musicnn")
SR = 16000
PATCH_FRAMES = 187
FIXTURE_PATCHES = 3
SEED = 20190801

TF_TO_TORCH = {
    "batch_normalization": "input_bn",
    "conv2d": "front.0.conv",
    "batch_normalization_1": "front.0.bn",
    "conv2d_1": "front.1.conv",
    "batch_normalization_2": "front.1.bn",
    "conv2d_2": "front.2.conv",
    "batch_normalization_3": "front.2.bn",
    "conv2d_3": "front.3.conv",
    "batch_normalization_4": "front.3.bn",
    "conv2d_4": "front.4.conv",
    "batch_normalization_5": "front.4.bn",
    "conv2d_5": "mid.0.conv",
    "batch_normalization_6": "mid.0.bn",
    "conv2d_6": "mid.1.conv",
    "batch_normalization_7": "mid.1.bn",
    "conv2d_7": "mid.2.conv",
    "batch_normalization_8": "mid.2.bn",
    "batch_normalization_9": "pool_bn",
    "dense": "dense",
    "batch_normalization_10": "dense_bn",
    "dense_1": "output",
}
BN_PARAMS = {
    "gamma": "weight",
    "beta": "bias",
    "moving_mean": "running_mean",
    "moving_variance": "running_var",
}
OPTIMIZER_VARIABLES = {"beta1_power", "beta2_power"}

FEEDS = {"input": "model/Placeholder:0", "is_training": "model/Placeholder_2:0"}
FETCHES = {
    "tags": "model/Sigmoid:0",
    "penultimate": "model/batch_normalization_10/batchnorm/add_1:0",
    "mean_pool": "model/moments/Squeeze:0",
    "max_pool": "model/Max:0",
}

LICENSE_HEADER = """\
The files MSD_musicnn.safetensors and MTT_musicnn.safetensors in this folder are the pretrained
MusiCNN weights (checkpoints MSD_musicnn and MTT_musicnn) of musicnn 0.1.0 by Jordi Pons and
Xavier Serra (https://pypi.org/project/musicnn/0.1.0/), converted from the TensorFlow checkpoints
in that wheel to safetensors by scripts/convert_musicnn.py. They are distributed under musicnn's
ISC licence, reproduced below from the wheel's metadata (LICENSE.md).

"""


def convert_checkpoint(ckpt_dir: Path) -> dict[str, np.ndarray]:
    """Read a MusiCNN checkpoint into float32 arrays keyed and laid out as the torch state_dict."""
    reader = tf.compat.v1.train.NewCheckpointReader(f"{ckpt_dir}/")
    names = {n for n in reader.get_variable_to_shape_map() if "Adam" not in n} - OPTIMIZER_VARIABLES
    state: dict[str, np.ndarray] = {}
    for name in sorted(names):
        layer, param = name.split("/")
        prefix = TF_TO_TORCH[layer]
        value = reader.get_tensor(name).astype(np.float32)
        if param in BN_PARAMS:
            key = f"{prefix}.{BN_PARAMS[param]}"
        elif param == "bias":
            key = f"{prefix}.bias"
        elif param == "kernel" and layer.startswith("dense"):
            key, value = f"{prefix}.weight", value.T
        elif param == "kernel" and prefix.startswith("mid."):
            key, value = f"{prefix}.weight", value[:, :, 0, :].transpose(2, 1, 0)
        elif param == "kernel":
            key, value = f"{prefix}.weight", value.transpose(3, 2, 0, 1)
        else:
            raise ValueError(f"unexpected variable {name}")
        state[key] = np.ascontiguousarray(value)
    if len(state) != len(names):
        raise ValueError(f"{ckpt_dir}: {len(names)} variables gave {len(state)} tensors")
    return state


def original_outputs(ckpt_dir: Path, x: np.ndarray) -> dict[str, np.ndarray]:
    """Run the original graph stored in the checkpoint's .meta on log-mel patches x (N, 187, 96)."""
    meta = tf.compat.v1.MetaGraphDef()
    meta.ParseFromString((ckpt_dir / ".meta").read_bytes())
    for node in meta.graph_def.node:
        if "_output_shapes" in node.attr:
            del node.attr["_output_shapes"]
    with tf.Graph().as_default() as graph, tf.compat.v1.Session(graph=graph) as sess:
        saver = tf.compat.v1.train.import_meta_graph(meta, clear_devices=True)
        saver.restore(sess, f"{ckpt_dir}/")
        values = sess.run(FETCHES, feed_dict={FEEDS["input"]: x, FEEDS["is_training"]: False})
    return {key: np.asarray(value, dtype=np.float32).reshape(len(x), -1) for key, value in values.items()}


def fixture_signal(seconds: float) -> np.ndarray:
    """Seeded music-like 16 kHz signal: harmonic notes with decay, a bass line and noise-burst drums."""
    rng = np.random.default_rng(SEED)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    y = np.zeros(n)
    beat = 0.375
    for start in np.arange(0.0, seconds, beat):
        i0, i1 = int(start * SR), min(n, int((start + 2 * beat) * SR))
        tt = t[i0:i1] - start
        f0 = 220.0 * 2 ** (rng.integers(0, 24) / 12)
        note = sum(np.sin(2 * np.pi * f0 * h * tt + rng.uniform(0, 2 * np.pi)) / h**1.3 for h in range(1, 9))
        y[i0:i1] += 0.25 * note * np.exp(-3.0 * tt)
        bass = 55.0 * 2 ** (rng.integers(0, 12) / 12)
        y[i0:i1] += 0.3 * np.sin(2 * np.pi * bass * tt) * np.exp(-5.0 * tt)
        length = min(int(rng.uniform(0.03, 0.12) * SR), n - i0)
        burst = rng.standard_normal(length) * np.exp(-np.arange(length) / (0.02 * SR))
        y[i0 : i0 + len(burst)] += rng.uniform(0.1, 0.5) * burst
    y += 0.003 * rng.standard_normal(n)
    return (0.5 * y / np.abs(y).max()).astype(np.float32)


def musicnn_logmel(y: np.ndarray) -> np.ndarray:
    """The pre-processing of musicnn (same as soundalike.embed.musicnn.musicnn_logmel)."""
    mel = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=512, hop_length=256, n_mels=96).T
    mel = mel.astype(np.float16).astype(np.float32)
    return np.log10(10000.0 * mel + 1.0).astype(np.float32)


def main() -> None:
    """Convert both checkpoints, write their licence notice and record the reference fixture."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, required=True, help="the unzipped musicnn 0.1.0 wheel")
    parser.add_argument("--weights-dir", type=Path, default=REPO / "embed" / "weights")
    parser.add_argument("--fixture", type=Path, default=REPO / "tests" / "data" / "musicnn_reference.npz")
    args = parser.parse_args()

    seconds = (FIXTURE_PATCHES * PATCH_FRAMES * 256 + 256) / SR
    logmel = musicnn_logmel(fixture_signal(seconds))
    x = logmel[: FIXTURE_PATCHES * PATCH_FRAMES].reshape(FIXTURE_PATCHES, PATCH_FRAMES, 96)

    args.weights_dir.mkdir(parents=True, exist_ok=True)
    fixture: dict[str, np.ndarray] = {"input": x}
    for name in MODELS:
        ckpt_dir = args.wheel / "musicnn" / name
        state = convert_checkpoint(ckpt_dir)
        weights = save(state, metadata={"source": f"musicnn==0.1.0 {name}"})
        (args.weights_dir / f"{name}.safetensors").write_bytes(weights)
        for key, value in original_outputs(ckpt_dir, x).items():
            fixture[f"{name}.{key}"] = value
        print(f"{name}: {len(state)} tensors, {sum(v.size for v in state.values())} parameters")

    licence = (args.wheel / "musicnn-0.1.0.dist-info" / "LICENSE.md").read_text()
    (args.weights_dir / "LICENSE-musicnn.txt").write_text(LICENSE_HEADER + licence.rstrip() + "\n")
    args.fixture.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.fixture, **fixture)
    print(f"fixture {args.fixture}: {args.fixture.stat().st_size} bytes, input {x.shape}")


if __name__ == "__main__":
    main()
