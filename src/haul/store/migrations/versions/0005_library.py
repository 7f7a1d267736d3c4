"""The media library: IPTV providers, notification targets, media-linked downloads, imports.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "iptv_providers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("username", sa.String(length=255), nullable=False),
        sa.Column("password", sa.String(length=1000), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("timeout", sa.Float(), nullable=False),
        sa.Column("owner_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_iptv_providers")),
        sa.UniqueConstraint("name", name=op.f("uq_iptv_providers_name")),
    )
    op.create_table(
        "notification_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("owner_key", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(length=255), nullable=True),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_targets")),
    )
    with op.batch_alter_table("notification_targets") as batch_op:
        batch_op.create_index("ix_notification_targets_owner_key", ["owner_key"])

    now = sa.text("CURRENT_TIMESTAMP")
    with op.batch_alter_table("media_items") as batch_op:
        batch_op.add_column(sa.Column("provider_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("owner_key", sa.String(length=64), nullable=False, server_default="local")
        )
        batch_op.add_column(
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=now)
        )
        batch_op.create_foreign_key(
            op.f("fk_media_items_provider_id_iptv_providers"),
            "iptv_providers",
            ["provider_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index("ix_media_items_provider_id", ["provider_id"])
        batch_op.create_index("ix_media_items_owner_key", ["owner_key"])
        batch_op.create_index("ix_media_items_kind_title", ["kind", "title"])
    with op.batch_alter_table("media_items") as batch_op:
        batch_op.alter_column("owner_key", server_default=None)
        batch_op.alter_column("updated_at", server_default=None)

    with op.batch_alter_table("media_files") as batch_op:
        batch_op.add_column(sa.Column("original_path", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("import_mode", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("imported_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("downloads") as batch_op:
        batch_op.add_column(sa.Column("iptv_provider_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("iptv_kind", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("iptv_ref", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("season", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("episode", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_downloads_iptv_provider_id_iptv_providers"),
            "iptv_providers",
            ["iptv_provider_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("downloads") as batch_op:
        batch_op.drop_constraint(
            op.f("fk_downloads_iptv_provider_id_iptv_providers"), type_="foreignkey"
        )
        for column in ("episode", "season", "iptv_ref", "iptv_kind", "iptv_provider_id"):
            batch_op.drop_column(column)
    with op.batch_alter_table("media_files") as batch_op:
        for column in ("imported_at", "import_mode", "original_path"):
            batch_op.drop_column(column)
    with op.batch_alter_table("media_items") as batch_op:
        batch_op.drop_index("ix_media_items_kind_title")
        batch_op.drop_index("ix_media_items_owner_key")
        batch_op.drop_index("ix_media_items_provider_id")
        batch_op.drop_constraint(
            op.f("fk_media_items_provider_id_iptv_providers"), type_="foreignkey"
        )
        for column in ("updated_at", "owner_key", "provider_id"):
            batch_op.drop_column(column)
    op.drop_index("ix_notification_targets_owner_key", table_name="notification_targets")
    op.drop_table("notification_targets")
    op.drop_table("iptv_providers")
