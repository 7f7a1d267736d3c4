"""An index for the error log's error code.

The Logs page and ``/api/v1/logs`` filter the error log by code and count it by code; without
an index both read the whole table (60 ms on SQLite at 100,000 entries, a code that never
occurred included). Domain and id already have theirs.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("error_log") as batch_op:
        batch_op.create_index(batch_op.f("ix_error_log_error_code"), ["error_code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("error_log") as batch_op:
        batch_op.drop_index(batch_op.f("ix_error_log_error_code"))
