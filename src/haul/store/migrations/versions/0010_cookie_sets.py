"""Site cookies: the cookies.txt files owners upload, kept sealed.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cookie_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_key", sa.String(length=64), nullable=False),
        sa.Column("domains", sa.JSON(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cookie_sets")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("cookie_sets") as batch_op:
        batch_op.create_index("ix_cookie_sets_owner_key", ["owner_key"])


def downgrade() -> None:
    op.drop_index("ix_cookie_sets_owner_key", table_name="cookie_sets")
    op.drop_table("cookie_sets")
