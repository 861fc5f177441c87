"""curator genre decisions, kept so that each can be undone

Revision ID: 0010_genre_decisions
Revises: 0009_mixes
Create Date: 2026-12-02 11:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0010_genre_decisions"
down_revision: str | None = "0009_mixes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "genre_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.Column("genre", sa.String(length=128), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("prior_verdict", sa.Boolean(), nullable=True),
        sa.Column("prior_confidence", sa.Float(), nullable=True),
        sa.Column("prior_model_version", sa.String(length=64), nullable=True),
        sa.Column("dropped_prediction", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["track_id"], ["tracks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_genre_decisions_track_id"), "genre_decisions", ["track_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_genre_decisions_track_id"), table_name="genre_decisions")
    op.drop_table("genre_decisions")
