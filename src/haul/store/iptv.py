"""Named queries on IPTV providers (and the library rows that point at them)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from haul.core.numbers import as_id
from haul.core.status import OPEN_PHASES
from haul.store.models import Download, IptvProvider, MediaItem


async def all_rows(session: AsyncSession, owner_key: str | None = None) -> list[IptvProvider]:
    """Every provider, or only ``owner_key``'s."""
    query = select(IptvProvider).order_by(IptvProvider.name)
    if owner_key is not None:
        query = query.where(IptvProvider.owner_key == owner_key)
    return list((await session.scalars(query)).all())


async def by_ref(session: AsyncSession, ref: str | int) -> IptvProvider | None:
    """A provider by id (all digits, within the range of ids) or by name."""
    text = str(ref).strip()
    if text.isascii() and text.isdigit() and len(text) <= 10 and int(text) < 2**31:
        return await session.get(IptvProvider, int(text))
    return await by_name(session, text)


async def by_name(session: AsyncSession, name: str) -> IptvProvider | None:
    return await session.scalar(select(IptvProvider).where(IptvProvider.name == name))


async def open_downloads(session: AsyncSession, provider_id: int) -> int:
    """Unfinished downloads of the provider's streams."""
    query = select(func.count()).where(
        Download.iptv_provider_id == provider_id,
        Download.phase.in_([p.value for p in OPEN_PHASES]),
    )
    return int(await session.scalar(query) or 0)


async def series_of_episode(
    session: AsyncSession, provider_id: int, episode_ref: str
) -> int | None:
    """The provider's series id of an episode the library knows: from the episode's own
    ``external_ids["series"]``, else from its parent series item's."""
    rows = (
        await session.scalars(
            select(MediaItem).where(
                MediaItem.provider_id == provider_id, MediaItem.kind == "episode"
            )
        )
    ).all()
    for row in rows:
        ids = row.external_ids or {}
        if str(ids.get("episode", "")).strip() != episode_ref:
            continue
        series = as_id(ids.get("series"))
        if series is None and row.parent_id is not None:
            parent = await session.get(MediaItem, row.parent_id)
            series = as_id((parent.external_ids or {}).get("series")) if parent else None
        if series is not None:
            return series
    return None
