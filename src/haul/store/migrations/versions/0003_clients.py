"""Configured download clients, and when haul let go of a client's item.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("username", sa.String(length=255), nullable=True),
        sa.Column("secret", sa.String(length=1000), nullable=True),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("slot_limit", sa.Integer(), nullable=True),
        sa.Column("prefer_for_files", sa.Boolean(), nullable=False),
        sa.Column("timeout", sa.Float(), nullable=False),
        sa.Column("remove_completed", sa.Boolean(), nullable=False),
        sa.Column("seed_ratio", sa.Float(), nullable=True),
        sa.Column("seed_minutes", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clients")),
        sa.UniqueConstraint("name", name=op.f("uq_clients_name")),
    )

    with op.batch_alter_table("downloads") as batch_op:
        batch_op.add_column(
            sa.Column("client_released_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_index("ix_downloads_client_phase", ["client", "phase"])


def downgrade() -> None:
    with op.batch_alter_table("downloads") as batch_op:
        batch_op.drop_index("ix_downloads_client_phase")
        batch_op.drop_column("client_released_at")
    op.drop_table("clients")
