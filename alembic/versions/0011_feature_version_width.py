"""feature versions as wide as embedding versions: a student's MusiCNN version runs past 32 characters

Revision ID: 0011_feature_version_width
Revises: 0010_genre_decisions
Create Date: 2026-12-03 06:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0011_feature_version_width"
down_revision: str | None = "0010_genre_decisions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("features") as batch:
        batch.alter_column("version", existing_type=sa.String(length=32), type_=sa.String(length=64), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("features") as batch:
        batch.alter_column("version", existing_type=sa.String(length=64), type_=sa.String(length=32), nullable=False)
