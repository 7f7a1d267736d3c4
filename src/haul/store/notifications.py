"""Named queries on the notification targets."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from haul.store.models import NotificationTarget


async def enabled(session: AsyncSession) -> list[NotificationTarget]:
    """Every enabled target (whose downloads each hears about, global ones of everyone's,
    and which event kinds it wants, the caller filters: ``events`` is JSON)."""
    query = (
        select(NotificationTarget)
        .where(NotificationTarget.enabled.is_(True))
        .order_by(NotificationTarget.id)
    )
    return list((await session.scalars(query)).all())


async def visible(session: AsyncSession, owner_key: str | None) -> list[NotificationTarget]:
    """Every target (``owner_key`` None, for an admin), or only that owner's own."""
    query = select(NotificationTarget).order_by(NotificationTarget.id)
    if owner_key is not None:
        query = query.where(NotificationTarget.owner_key == owner_key)
    return list((await session.scalars(query)).all())


async def by_id(session: AsyncSession, target_id: int) -> NotificationTarget | None:
    return await session.get(NotificationTarget, target_id)


async def name_taken(
    session: AsyncSession, name: str, owner_key: str | None, *, but: int | None = None
) -> bool:
    """Whether another target of the same scope already has ``name``."""
    query = select(NotificationTarget.id).where(NotificationTarget.name == name)
    if owner_key is None:
        query = query.where(NotificationTarget.owner_key.is_(None))
    else:
        query = query.where(NotificationTarget.owner_key == owner_key)
    if but is not None:
        query = query.where(NotificationTarget.id != but)
    return (await session.scalar(query.limit(1))) is not None
