"""Indexes for the queue's hot queries at 100,000 waiting downloads.

The duplicate check names owner and key; the next due retry, the claimable jobs and status
filtered lists each get an index led by the phase.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("downloads") as batch_op:
        batch_op.drop_index("ix_downloads_dedupe")
        batch_op.drop_index("ix_downloads_retry_next_at")
        batch_op.create_index("ix_downloads_dedupe", ["dedupe_key", "owner_key", "phase"])
        batch_op.create_index("ix_downloads_retry", ["phase", "retry_next_at"])
        batch_op.create_index("ix_downloads_claim", ["phase", "lease_worker_id"])
        batch_op.create_index("ix_downloads_phase_id", ["phase", "id"])


def downgrade() -> None:
    with op.batch_alter_table("downloads") as batch_op:
        batch_op.drop_index("ix_downloads_phase_id")
        batch_op.drop_index("ix_downloads_claim")
        batch_op.drop_index("ix_downloads_retry")
        batch_op.drop_index("ix_downloads_dedupe")
        batch_op.create_index("ix_downloads_retry_next_at", ["retry_next_at"])
        batch_op.create_index("ix_downloads_dedupe", ["dedupe_key", "phase"])
