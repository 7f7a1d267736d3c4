"""Accounts: login sessions keep the hash of their cookie's secret; tokens a hint; users the
time of their last login.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch_op:
        batch_op.add_column(sa.Column("secret_hash", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_sessions_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.add_column(sa.Column("hint", sa.String(length=16), nullable=True))
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("last_login_at")
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.drop_column("hint")
    with op.batch_alter_table("sessions") as batch_op:
        batch_op.drop_index(batch_op.f("ix_sessions_user_id"))
        batch_op.drop_column("secret_hash")
