"""media servers: accounts with encrypted secrets, songs seen, playlists made, sync runs

Revision ID: 0007_media_servers
Revises: 0006
Create Date: 2026-12-02 10:20:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007_media_servers'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'media_server_accounts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('username', sa.String(length=255), nullable=False),
        sa.Column('auth', sa.String(length=16), nullable=False),
        sa.Column('secret', sa.LargeBinary(), nullable=False),
        sa.Column('path_map', sa.Text(), server_default='', nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name', 'username'),
    )
    op.create_index('ix_media_server_accounts_name', 'media_server_accounts', ['name'])
    op.create_table(
        'media_server_songs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('song_id', sa.String(length=255), nullable=False),
        sa.Column('track_id', sa.Integer(), nullable=True),
        sa.Column('play_count', sa.Integer(), nullable=False),
        sa.Column('starred_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('rating', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['media_server_accounts.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['track_id'], ['tracks.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('account_id', 'song_id'),
    )
    op.create_index('ix_media_server_songs_account_id', 'media_server_songs', ['account_id'])
    op.create_index('ix_media_server_songs_track_id', 'media_server_songs', ['track_id'])
    op.create_table(
        'media_server_playlists',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.Text(), nullable=False),
        sa.Column('playlist_id', sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['media_server_accounts.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('account_id', 'name'),
    )
    op.create_index('ix_media_server_playlists_account_id', 'media_server_playlists', ['account_id'])
    op.create_table(
        'media_sync_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('counts', sa.Text(), nullable=False),
        sa.Column('errors', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_media_sync_runs_name', 'media_sync_runs', ['name'])


def downgrade() -> None:
    op.drop_index('ix_media_sync_runs_name', table_name='media_sync_runs')
    op.drop_table('media_sync_runs')
    op.drop_index('ix_media_server_playlists_account_id', table_name='media_server_playlists')
    op.drop_table('media_server_playlists')
    op.drop_index('ix_media_server_songs_track_id', table_name='media_server_songs')
    op.drop_index('ix_media_server_songs_account_id', table_name='media_server_songs')
    op.drop_table('media_server_songs')
    op.drop_index('ix_media_server_accounts_name', table_name='media_server_accounts')
    op.drop_table('media_server_accounts')
