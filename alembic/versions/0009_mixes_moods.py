"""mixes and their tracks; curator verdicts on track moods

Revision ID: 0009_mixes
Revises: 0008
Create Date: 2026-12-02 10:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0009_mixes"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mixes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("model_name", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "mix_tracks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mix_id", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["mix_id"], ["mixes.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["track_id"], ["tracks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("mix_id", "position"),
    )
    op.create_index(op.f("ix_mix_tracks_mix_id"), "mix_tracks", ["mix_id"], unique=False)
    op.create_index(op.f("ix_mix_tracks_track_id"), "mix_tracks", ["track_id"], unique=False)
    op.create_table(
        "track_moods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.Column("mood", sa.String(length=64), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["track_id"], ["tracks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("track_id", "mood"),
    )
    op.create_index(op.f("ix_track_moods_track_id"), "track_moods", ["track_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_track_moods_track_id"), table_name="track_moods")
    op.drop_table("track_moods")
    op.drop_index(op.f("ix_mix_tracks_track_id"), table_name="mix_tracks")
    op.drop_index(op.f("ix_mix_tracks_mix_id"), table_name="mix_tracks")
    op.drop_table("mix_tracks")
    op.drop_table("mixes")
