"""Ids are never given out twice, on SQLite too.

A SQLite table whose integer key has no AUTOINCREMENT hands the id of its newest row, once
deleted, to the next row: a new account took the id of a deleted one (and so its downloads,
IPTV providers and webhooks), and a new download the id scripts and webhooks knew for an old
one. Every table with an integer key is rebuilt with AUTOINCREMENT, its rows and ids kept; the
next id starts past the highest one used so far. PostgreSQL's sequences never go back: nothing
changes there.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Tables whose ``owner_key`` may still name an account deleted before this revision.
OWNED = ("media_items", "iptv_providers", "notification_targets", "downloads", "unsupported_urls")

#: Every table with an integer key, parents before the tables that refer to them.
TABLES = (
    "users",
    "api_tokens",
    "profiles",
    "iptv_providers",
    "media_items",
    "clients",
    "notification_targets",
    "downloads",
    "download_events",
    "media_files",
    "unsupported_urls",
    "error_log",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _rebuild(autoincrement=True)
    _skip_deleted_accounts()


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _rebuild(autoincrement=False)


def _rebuild(*, autoincrement: bool) -> None:
    # Alembic runs migrations with SQLite's foreign keys off, so dropping the old table
    # cascades nothing; the tables referring to it name it and find the new one. Copying the
    # rows with their ids sets each table's counter to its highest id.
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def _skip_deleted_accounts() -> None:
    """Start the account counter past every account id still named by what someone owns: an
    account deleted before this revision left its downloads, library, providers and webhooks
    under ``user:<id>``, and a new account with that id would have inherited them."""
    bind = op.get_bind()
    highest = int(bind.execute(sa.text("SELECT coalesce(max(id), 0) FROM users")).scalar_one())
    for table in OWNED:
        keys = bind.execute(
            sa.text(f"SELECT DISTINCT owner_key FROM {table} WHERE owner_key LIKE 'user:%'")  # noqa: S608
        ).scalars()
        for key in keys:
            number = str(key).removeprefix("user:")
            if number.isdigit():
                highest = max(highest, int(number))
    bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = 'users'"))
    bind.execute(
        sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('users', :seq)"), {"seq": highest}
    )
