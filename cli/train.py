"""Training commands: a CNN on labelled tracks, a contrastive adaptation of MusiCNN to the catalogue."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

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
