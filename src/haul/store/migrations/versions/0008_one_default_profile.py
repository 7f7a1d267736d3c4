"""One default profile at most, held by the database.

Making a profile the default clears the others in the same transaction; two such changes at
the same moment on PostgreSQL could each clear the other's and leave two defaults. A unique
index over the default rows only refuses the second. Extra defaults already there keep the
oldest.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "uq_profiles_is_default"


def upgrade() -> None:
    profiles = sa.table(
        "profiles", sa.column("id", sa.Integer), sa.column("is_default", sa.Boolean)
    )
    oldest = (
        sa.select(sa.func.min(profiles.c.id))
        .where(profiles.c.is_default.is_(sa.true()))
        .scalar_subquery()
    )
    op.execute(
        profiles.update()
        .where(profiles.c.is_default.is_(sa.true()), profiles.c.id != oldest)
        .values(is_default=False)
    )
    op.create_index(
        INDEX,
        "profiles",
        ["is_default"],
        unique=True,
        postgresql_where=sa.text("is_default"),
        sqlite_where=sa.text("is_default = 1"),
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="profiles")
