"""Site rules and per-profile network settings: each download keeps the host of its source
(``site``, indexed with the phase, so admission counts the transfers per site), and a profile
may name a proxy and yt-dlp extractor arguments. The site of every unfinished download is
filled in from its source URL; finished ones keep none (nothing counts them).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from haul.core.sites import site_of

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = ("queued", "admitted", "active", "processing")


def upgrade() -> None:
    # Plain ADD COLUMNs: on SQLite a rebuild of the table would drop its AUTOINCREMENT.
    op.add_column("downloads", sa.Column("site", sa.String(255), nullable=True))
    op.create_index("ix_downloads_site_phase", "downloads", ["site", "phase"])
    op.add_column("profiles", sa.Column("proxy", sa.String(1000), nullable=True))
    op.add_column(
        "profiles", sa.Column("extractor_args", sa.JSON(), nullable=False, server_default="{}")
    )
    downloads = sa.table(
        "downloads",
        sa.column("id", sa.Integer),
        sa.column("source_url", sa.Text),
        sa.column("phase", sa.String),
        sa.column("site", sa.String),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(downloads.c.id, downloads.c.source_url).where(downloads.c.phase.in_(OPEN))
    ).all()
    for row_id, url in rows:
        site = site_of(url or "")
        if site is not None:
            bind.execute(downloads.update().where(downloads.c.id == row_id).values(site=site))


def downgrade() -> None:
    with op.batch_alter_table("profiles", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_column("extractor_args")
        batch.drop_column("proxy")
    op.drop_index("ix_downloads_site_phase", table_name="downloads")
    with op.batch_alter_table("downloads", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_column("site")
