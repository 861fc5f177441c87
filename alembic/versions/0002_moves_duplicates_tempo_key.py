"""moves, duplicates, tempo and key, tag ids, curator rejections

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 10:28:40.134825
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('ingest_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('moved', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('deleted', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('duplicates', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('track_genres', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rejected', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('tracks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bpm', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('musicbrainz_track_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('musicbrainz_artist_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('musicbrainz_album_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('tempo', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('key', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('duplicate_of_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_tracks_duplicate_of_id'), ['duplicate_of_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_tracks_duplicate_of_id_tracks'), 'tracks', ['duplicate_of_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('tracks', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_tracks_duplicate_of_id_tracks'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_tracks_duplicate_of_id'))
        batch_op.drop_column('deleted_at')
        batch_op.drop_column('duplicate_of_id')
        batch_op.drop_column('key')
        batch_op.drop_column('tempo')
        batch_op.drop_column('musicbrainz_album_id')
        batch_op.drop_column('musicbrainz_artist_id')
        batch_op.drop_column('musicbrainz_track_id')
        batch_op.drop_column('bpm')

    with op.batch_alter_table('track_genres', schema=None) as batch_op:
        batch_op.drop_column('rejected')

    with op.batch_alter_table('ingest_runs', schema=None) as batch_op:
        batch_op.drop_column('duplicates')
        batch_op.drop_column('deleted')
        batch_op.drop_column('moved')

