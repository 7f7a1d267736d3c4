"""Named queries on download profiles."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from haul.core.status import OPEN_PHASES
from haul.store.models import Download, Profile


async def any_profile(s: AsyncSession) -> bool:
    """Whether there is a profile at all."""
    return await s.scalar(select(Profile.id).limit(1)) is not None


async def in_name_order(s: AsyncSession) -> Sequence[Profile]:
    """Every profile, by name."""
    return (await s.scalars(select(Profile).order_by(Profile.name))).all()


async def by_name(s: AsyncSession, name: str) -> Profile | None:
    return await s.scalar(select(Profile).where(Profile.name == name))


async def clear_default(s: AsyncSession) -> None:
    """No profile is the default any more."""
    await s.execute(update(Profile).where(Profile.is_default.is_(True)).values(is_default=False))


async def open_downloads_using(s: AsyncSession, profile_id: int) -> int:
    """Unfinished downloads that use the profile."""
    return int(
        await s.scalar(
            select(func.count()).where(
                Download.profile_id == profile_id,
                Download.phase.in_([p.value for p in OPEN_PHASES]),
            )
        )
        or 0
    )


async def with_proxy_in_clear(s: AsyncSession) -> Sequence[Profile]:
    """Profiles whose proxy is not sealed (no credentials, or stored before they were)."""
    return (
        await s.scalars(
            select(Profile).where(Profile.proxy.is_not(None), Profile.proxy_sealed.is_(None))
        )
    ).all()
