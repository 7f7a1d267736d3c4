"""A download may have its own download speed limit (bytes per second). Existing downloads
have none: they move as fast as the global and per-owner limits let them.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN: on SQLite a rebuild of the table would drop its AUTOINCREMENT
    # (revision 0009).
    op.add_column("downloads", sa.Column("speed_limit", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("downloads", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_column("speed_limit")
