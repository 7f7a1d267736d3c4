"""Named queries on what an account owns: counting it, handing it over, removing its rows."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Row, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from haul.store.models import (
    Download,
    IptvProvider,
    MediaItem,
    NotificationTarget,
    Subscription,
    UnsupportedUrl,
)

#: Tables holding owned rows by owner key (downloads and subscriptions also name the user).
OWNED_TABLES = (
    Subscription,
    Download,
    MediaItem,
    IptvProvider,
    NotificationTarget,
    UnsupportedUrl,
)
Counted = type[Download | MediaItem | IptvProvider | NotificationTarget | Subscription]


async def count_owned(s: AsyncSession, table: Counted, key: str) -> int:
    """How many rows of ``table`` the owner ``key`` has."""
    return int(
        await s.scalar(select(func.count()).select_from(table).where(table.owner_key == key)) or 0
    )


async def hand_over(s: AsyncSession, key: str, new: str, user_id: int, to: int) -> None:
    """Every owned row of ``key`` goes to ``new``; downloads naming ``user_id`` name ``to``."""
    for table in OWNED_TABLES:
        await s.execute(update(table).where(table.owner_key == key).values(owner_key=new))
    await s.execute(update(Download).where(Download.user_id == user_id).values(user_id=to))
    await s.execute(update(Subscription).where(Subscription.user_id == user_id).values(user_id=to))


async def delete_subscriptions(s: AsyncSession, key: str) -> None:
    """Remove the owner's subscriptions (and what they saw): no check makes a download for
    them any more."""
    await s.execute(delete(Subscription).where(Subscription.owner_key == key))


async def owned_downloads(s: AsyncSession, key: str) -> Sequence[Row[int, bool]]:
    """(id, hidden) of the owner's downloads, children before their parents."""
    return (
        await s.execute(
            select(Download.id, Download.hidden)
            .where(Download.owner_key == key)
            .order_by(Download.parent_id.is_(None), Download.id)  # children first
        )
    ).all()


async def owned_top_items(s: AsyncSession, key: str) -> Sequence[int]:
    """Ids of the owner's top-level media items."""
    return (
        await s.scalars(
            select(MediaItem.id).where(MediaItem.owner_key == key, MediaItem.parent_id.is_(None))
        )
    ).all()


async def delete_owned(s: AsyncSession, key: str) -> None:
    """Remove every row the owner ``key`` still has."""
    for table in OWNED_TABLES:
        await s.execute(delete(table).where(table.owner_key == key))
