"""A download may choose its own yt-dlp format selector, and for audio only the format to
convert to and its quality, instead of its profile's. Existing downloads choose none, so they
download as their profile says.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs: on SQLite a rebuild of the table would drop its AUTOINCREMENT
    # (revision 0009).
    op.add_column("downloads", sa.Column("format", sa.String(500), nullable=True))
    op.add_column("downloads", sa.Column("audio_format", sa.String(16), nullable=True))
    op.add_column("downloads", sa.Column("audio_quality", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("downloads", table_kwargs={"sqlite_autoincrement": True}) as batch:
        for name in ("audio_quality", "audio_format", "format"):
            batch.drop_column(name)
