"""radio sessions: seeds, listener, the tracks served and the feedback on them

Revision ID: 0008
Revises: 0007_media_servers
Create Date: 2026-12-02 10:40:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007_media_servers'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'radio_sessions',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('seeds', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_radio_sessions_user_id_users'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_radio_sessions')),
    )
    with op.batch_alter_table('radio_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_radio_sessions_user_id'), ['user_id'], unique=False)
    op.create_table(
        'radio_tracks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.String(length=32), nullable=False),
        sa.Column('track_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('event', sa.String(length=8), nullable=True),
        sa.Column('weight', sa.Float(), nullable=True),
        sa.Column('served_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['session_id'], ['radio_sessions.id'], name=op.f('fk_radio_tracks_session_id_radio_sessions'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['track_id'], ['tracks.id'], name=op.f('fk_radio_tracks_track_id_tracks'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_radio_tracks')),
        sa.UniqueConstraint('session_id', 'track_id', name=op.f('uq_radio_tracks_session_id')),
    )
    with op.batch_alter_table('radio_tracks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_radio_tracks_session_id'), ['session_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('radio_tracks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_radio_tracks_session_id'))
    op.drop_table('radio_tracks')
    with op.batch_alter_table('radio_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_radio_sessions_user_id'))
    op.drop_table('radio_sessions')
