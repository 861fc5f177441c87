"""Training commands: a CNN on labelled tracks, a contrastive adaptation of MusiCNN, a style projection of the
fusion embedding learnt from weak labels, a distilled student."""

from __future__ import annotations

from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from soundalike.cli.app import app
from soundalike.cli.output import JsonOption, State, database, emit, fmt, progress_bar, stderr, table

train_app = typer.Typer(no_args_is_help=True, help="Train embedding models on the catalogue.")
app.add_typer(train_app, name="train")


@train_app.command("cnn")
def train_cnn(
    epochs: Annotated[int, typer.Option(min=1, help="Most epochs (early stopping may end sooner).")] = 40,
    patience: Annotated[int, typer.Option(min=1, help="Epochs without held-out improvement before stopping.")] = 6,
    finetune: Annotated[
        bool, typer.Option("--finetune", help="Fine-tune pretrained MusiCNN (mid and back end) instead.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of the split, crops and augmentation.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Train a genre CNN on log-mel patches of labelled tracks (use it: SOUNDALIKE_EMBEDDING_MODEL=cnn-trained).

    --finetune starts from pretrained MusiCNN and tunes its mid and back end (front end frozen).
    """
    from soundalike.embed.trained_cnn import finetune_config, train_catalogue_cnn
    from soundalike.embed.training import TrainConfig

    settings = State.settings()
    config = TrainConfig(epochs=epochs, patience=patience, seed=seed)
    if finetune:
        config = finetune_config(config)
    with database() as session, progress_bar("decoding labelled tracks", transient=True) as (_, advance):
        meta = train_catalogue_cnn(
            session,
            settings,
            config,
            on_track=advance,
            on_epoch=lambda epoch, scores: (
                stderr.print(f"epoch {epoch}: " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items()), highlight=False)
                if not as_json
                else None
            ),
        )
    data = {**asdict(meta), "curves_png": str(settings.plots_dir / "cnn-training.png")}
    emit(
        data,
        as_json,
        lambda: table(
            "Trained CNN",
            ("version", "classes", "train", "held-out", "best epoch", "held-out accuracy"),
            [
                [
                    meta.version,
                    ", ".join(meta.classes),
                    meta.n_train,
                    meta.n_held_out,
                    meta.best_epoch,
                    fmt(meta.val_accuracy),
                ]
            ],
        ),
    )


@train_app.command("adapt")
def train_adapt(
    steps: Annotated[int, typer.Option(min=1, help="Contrastive training steps.")] = 300,
    seed: Annotated[int, typer.Option(help="Seed of the split and the training.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Train a contrastive projection on MusiCNN patch embeddings; kept only if held-out tracks say so.

    A kept head serves as SOUNDALIKE_EMBEDDING_MODEL=musicnn-adapted (version ``<version>-kept``).
    """
    from soundalike.embed.adapt import AdaptConfig, adapt_catalogue

    settings = State.settings()
    with database() as session, progress_bar("embedding patches", transient=True) as (_, advance):
        record = adapt_catalogue(session, settings, AdaptConfig(steps=steps, seed=seed), on_track=advance)
    names = ("recall@1", "recall@10", "map", "album_precision@10")
    emit(
        asdict(record),
        as_json,
        lambda: (
            table(
                f"Adaptation {record.version}: {'kept' if record.kept else 'discarded'}",
                ("model", *names),
                [
                    ["backbone", *(fmt(record.baseline.get(n)) for n in names)],
                    ["adapted", *(fmt(record.adapted.get(n)) for n in names)],
                ],
            ),
            stderr.print(record.reason),
        ),
    )


class WeakLabelKind(StrEnum):
    """Which weak labels a style projection learns from."""

    auto = "auto"
    album = "album"
    artist = "artist"
    genre = "genre"


@train_app.command("project")
def train_project(
    labels: Annotated[
        WeakLabelKind,
        typer.Option(
            help="album (tag, else folder), artist, genre (curator's, else file tag); auto: genre if curated."
        ),
    ] = WeakLabelKind.auto,
    steps: Annotated[int, typer.Option(min=1, help="Training steps.")] = 300,
    seed: Annotated[int, typer.Option(help="Seed of the split and the training.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Learn a style projection of the fusion embedding from album, artist or genre labels; kept only if held-out
    albums say so (same-label precision rises, excerpt recall@1 holds).

    A kept projection serves as SOUNDALIKE_EMBEDDING_MODEL=fusion-projected (version ``<version>-kept``).
    ``auto`` takes a curator's genres when there are two or more, else albums.
    """
    from soundalike.embed.fusion_features import Networks
    from soundalike.embed.style_projection import ProjectConfig, project_catalogue
    from soundalike.ingest.device import resolve_device

    settings = State.settings()
    config = ProjectConfig(labels=labels.value, steps=steps, seed=seed)
    with database() as session, progress_bar("fusion features and held-out excerpts", transient=True) as (_, advance):
        record = project_catalogue(
            session, settings, Networks(settings, resolve_device(settings.device)), config, on_track=advance
        )
    kind = str(record.config["labels"])
    names = (f"{kind}_precision@10", "recall@1")
    emit(
        asdict(record),
        as_json,
        lambda: (
            table(
                f"Style projection {record.version} ({kind} labels): {'kept' if record.kept else 'discarded'}",
                ("model", *names),
                [
                    ["fusion", *(fmt(record.baseline.get(n)) for n in names)],
                    ["projected", *(fmt(record.adapted.get(n)) for n in names)],
                ],
            ),
            stderr.print(record.reason),
        ),
    )


@train_app.command("distil")
def train_distil(
    folders: Annotated[
        list[Path], typer.Argument(help="Folders of recordings to train on (one package or album each).")
    ],
    held_out: Annotated[
        list[Path], typer.Option("--held-out", help="Folders scored only, never trained on (repeat the option).")
    ],
    epochs: Annotated[int | None, typer.Option(min=1, help="Passes over the training patches.")] = None,
    width: Annotated[
        int | None, typer.Option(min=2, help="Channels of the first conv block (doubling per block).")
    ] = None,
    patches_per_track: Annotated[int | None, typer.Option(min=1, help="Patches cut from each training track.")] = None,
    held_out_patches: Annotated[int | None, typer.Option(min=2, help="Patches cut from each held-out track.")] = None,
    batch: Annotated[int | None, typer.Option(min=2, help="Patches per training step.")] = None,
    learning_rate: Annotated[float | None, typer.Option(min=0.0, help="Peak learning rate.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the initialisation and the batches.")] = None,
    pooled_weight: Annotated[
        float | None, typer.Option(min=0.0, help="Loss weight of the pooled features (default: the fusion's).")
    ] = None,
    penultimate_weight: Annotated[
        float | None, typer.Option(min=0.0, help="Loss weight of the penultimate layer (default: the fusion's).")
    ] = None,
    tags_weight: Annotated[float | None, typer.Option(min=0.0, help="Loss weight of the tags.")] = None,
    relation_weight: Annotated[
        float | None,
        typer.Option(min=0.0, help="Loss weight of each batch's patch-to-patch similarities (pooled features)."),
    ] = None,
    track_patches: Annotated[
        int | None, typer.Option(min=1, help="Patches of one track that sit together in a batch.")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Weights file (default: the models folder).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Distil MusiCNN into the small student (the CPU default runs it: SOUNDALIKE_CNN_RUNTIME=auto).

    Options left out take the recipe's defaults (``embed.distil.DistilConfig``, as the shipped weights were
    trained); the pooled and penultimate targets are weighted as ``SOUNDALIKE_FUSION_BLOCKS`` weighs them. The
    teacher's outputs (from its ONNX graph) are cached under the data folder, so a second run only trains.
    """
    from soundalike.embed.distil import DistilConfig, distil, loss_weights
    from soundalike.embed.musicnn import load_musicnn
    from soundalike.embed.musicnn_runtime import OnnxMusicnn, fp32_onnx
    from soundalike.embed.student import WEIGHTS_FILE

    settings = State.settings()
    given: dict[str, float | None] = {
        "epochs": epochs,
        "batch": batch,
        "learning_rate": learning_rate,
        "width": width,
        "patches_per_track": patches_per_track,
        "held_out_patches": held_out_patches,
        "seed": seed,
        "tags_weight": tags_weight,
        "pooled_weight": pooled_weight,
        "penultimate_weight": penultimate_weight,
        "relation_weight": relation_weight,
        "track_patches": track_patches,
    }
    chosen: dict[str, Any] = {name: value for name, value in given.items() if value is not None}
    config = DistilConfig(**(loss_weights(settings.fusion_blocks) | chosen))
    with progress_bar("decoding and teaching", transient=True) as (_, advance):
        report = distil(
            folders,
            held_out,
            load_musicnn("MSD_musicnn"),
            out=out or settings.models_dir / WEIGHTS_FILE,
            cache_dir=settings.home / "cache",
            config=config,
            teacher_runtime=OnnxMusicnn(fp32_onnx(settings.cache_dir)),
            on_track=advance,
            on_epoch=lambda epoch, loss: (
                None if as_json else stderr.print(f"epoch {epoch}: loss {loss:.4f}", highlight=False)
            ),
        )
    names = ("penultimate_track_cosine", "pooled_track_cosine_standardised", "tags_top5_overlap")
    emit(
        asdict(report),
        as_json,
        lambda: table(
            f"Student {report.version}",
            ("train tracks", "held-out tracks", "MMAC (teacher)", *names),
            [
                [
                    report.train_tracks,
                    report.held_out_tracks,
                    f"{report.student_macs / 1e6:.0f} ({report.teacher_macs / 1e6:.0f})",
                    *(fmt(report.fidelity[n]) for n in names),
                ]
            ],
        ),
    )


@train_app.command("quantise")
def train_quantise(
    tracks: Annotated[int, typer.Option(min=1, help="Catalogue tracks to calibrate on, spread over it.")] = 64,
    per_track: Annotated[int, typer.Option(min=1, help="Patches taken from each of them.")] = 2,
    as_json: JsonOption = False,
) -> None:
    """Quantise MusiCNN to int8 for ONNX Runtime, calibrated on catalogue patches (SOUNDALIKE_CNN_RUNTIME=onnx-int8).

    A new calibration is a new embedding version: the next ``index build`` re-embeds.
    """
    from soundalike.embed.musicnn_runtime import catalogue_patches, fp32_onnx, int8_version, quantise

    settings = State.settings()
    with database() as session:
        calibration = catalogue_patches(session, settings, tracks=tracks, per_track=per_track)
    path = quantise(fp32_onnx(settings.cache_dir), settings.models_dir, calibration)
    data = {"path": str(path), "patches": len(calibration), "version": int8_version(settings.models_dir)}
    emit(data, as_json, lambda: table("int8 MusiCNN", ("file", "patches", "version"), [list(data.values())]))
