"""Named queries behind the links to a download's files."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from haul.store.models import Download


async def born_and_hidden(s: AsyncSession, download_id: int) -> Row[datetime, bool] | None:
    """(created_at, hidden) of the download, None when there is none."""
    return (
        await s.execute(
            select(Download.created_at, Download.hidden).where(Download.id == download_id)
        )
    ).first()
