"""Finished files with their probed metadata.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "media_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("download_id", sa.Integer(), nullable=True),
        sa.Column("media_id", sa.Integer(), nullable=True),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("file_name", sa.String(length=1000), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("mtime", sa.Float(), nullable=True),
        sa.Column("is_media", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("container", sa.String(length=64), nullable=True),
        sa.Column("duration", sa.Float(), nullable=True),
        sa.Column("video_codec", sa.String(length=64), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("audio_codec", sa.String(length=64), nullable=True),
        sa.Column("audio_channels", sa.Integer(), nullable=True),
        sa.Column("subtitle_languages", sa.JSON(), nullable=False),
        sa.Column("profile", sa.String(length=100), nullable=True),
        sa.Column("youtube_id", sa.String(length=11), nullable=True),
        sa.Column("file_exists", sa.Boolean(), nullable=False),
        sa.Column("probed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["download_id"],
            ["downloads.id"],
            name=op.f("fk_media_files_download_id_downloads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["media_id"],
            ["media_items.id"],
            name=op.f("fk_media_files_media_id_media_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_files")),
        sa.UniqueConstraint("download_id", "path", name=op.f("uq_media_files_download_id_path")),
    )
    with op.batch_alter_table("media_files") as batch_op:
        batch_op.create_index("ix_media_files_download_id", ["download_id"])
        batch_op.create_index("ix_media_files_media_id", ["media_id"])
        batch_op.create_index("ix_media_files_youtube_id", ["youtube_id"])


def downgrade() -> None:
    op.drop_table("media_files")
