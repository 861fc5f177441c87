"""track paths spelled out: ``.`` and ``..`` removed, as ingest now stores them, so a folder named another way
later is the same set of tracks

Revision ID: 0012_spelled_out_paths
Revises: 0011_feature_version_width
Create Date: 2026-12-03 12:00:00.000000
"""

import posixpath
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0012_spelled_out_paths"
down_revision: str | None = "0011_feature_version_width"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRACKS = sa.table("tracks", sa.column("id", sa.Integer), sa.column("path", sa.Text))


def upgrade() -> None:
    """Spell out each path holding a ``.`` or ``..`` step; one whose spelled-out path another track already has
    (the folder was ingested both ways) keeps its own, as that other track is stored as its duplicate."""
    connection = op.get_bind()
    dotted = connection.execute(
        sa.select(TRACKS.c.id, TRACKS.c.path).where(sa.or_(TRACKS.c.path.like("%/../%"), TRACKS.c.path.like("%/./%")))
    ).all()
    for track_id, path in dotted:
        spelled = posixpath.normpath(path)
        if connection.scalar(sa.select(TRACKS.c.id).where(TRACKS.c.path == spelled)) is None:
            connection.execute(sa.update(TRACKS).where(TRACKS.c.id == track_id).values(path=spelled))


def downgrade() -> None:
    """Nothing to undo: a spelled-out path names the same file."""
