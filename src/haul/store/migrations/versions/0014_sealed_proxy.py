"""A profile's proxy credentials are kept sealed, as site cookies are: ``profiles.proxy`` holds
the proxy as it is shown (``http://***@proxy.lan:3128``) and ``proxy_sealed`` the whole URL,
sealed with the key file of the data folder.

A migration cannot seal (the key file is the server's, not the database's): the proxies
stored in clear before this revision are sealed by the server when it starts
(:meth:`haul.service.profiles.ProfileService.seal_proxies`); until then they are read as
they are.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("profiles", sa.Column("proxy_sealed", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    # The sealed credentials cannot be opened here: a downgraded profile keeps the proxy
    # without them (its masked form is no proxy: it is cleared).
    op.execute("UPDATE profiles SET proxy = NULL WHERE proxy_sealed IS NOT NULL")
    with op.batch_alter_table("profiles", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_column("proxy_sealed")
