"""A profile says how many fragments of an HLS or DASH stream yt-dlp fetches at once.
Existing profiles fetch 4, the default.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "profiles",
        sa.Column("concurrent_fragments", sa.Integer(), nullable=False, server_default="4"),
    )


def downgrade() -> None:
    with op.batch_alter_table("profiles", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_column("concurrent_fragments")
