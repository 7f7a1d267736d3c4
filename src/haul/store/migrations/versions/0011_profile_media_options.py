"""What a download profile may ask of yt-dlp beyond format and container: audio only (a
format to convert to and its quality), what to embed into the file (metadata, thumbnail,
chapters, subtitles), which side files to write beside it (thumbnail, info JSON, NFO), and the
SponsorBlock categories to cut out or mark as chapters. Existing profiles ask for none of it,
so they download as before.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FLAGS = (
    "embed_metadata",
    "embed_thumbnail",
    "embed_chapters",
    "embed_subtitles",
    "write_thumbnail",
    "write_info_json",
    "write_nfo",
)
LISTS = ("sponsorblock_remove", "sponsorblock_mark")


def upgrade() -> None:
    # Plain ADD COLUMNs (each with a default, so existing rows get it): on SQLite a rebuild of
    # the table would drop its AUTOINCREMENT (revision 0009).
    op.add_column("profiles", sa.Column("audio_format", sa.String(16), nullable=True))
    op.add_column("profiles", sa.Column("audio_quality", sa.String(16), nullable=True))
    for flag in FLAGS:
        op.add_column(
            "profiles", sa.Column(flag, sa.Boolean(), nullable=False, server_default=sa.false())
        )
    for name in LISTS:
        op.add_column("profiles", sa.Column(name, sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("profiles", table_kwargs={"sqlite_autoincrement": True}) as batch:
        for name in (*reversed(LISTS), *reversed(FLAGS), "audio_quality", "audio_format"):
            batch.drop_column(name)
