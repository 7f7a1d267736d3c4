"""Named queries on the configured clients."""

from __future__ import annotations

from dataclasses import fields

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from haul.core.client_specs import ClientSpec
from haul.core.status import OPEN_PHASES
from haul.store.models import ClientConfig, Download

SPEC_FIELDS = tuple(f.name for f in fields(ClientSpec))


def to_spec(row: ClientConfig) -> ClientSpec:
    return ClientSpec(**{name: getattr(row, name) for name in SPEC_FIELDS})


async def specs(session: AsyncSession) -> list[ClientSpec]:
    rows = (await session.scalars(select(ClientConfig).order_by(ClientConfig.name))).all()
    return [to_spec(row) for row in rows]


async def by_name(session: AsyncSession, name: str) -> ClientConfig | None:
    return await session.scalar(select(ClientConfig).where(ClientConfig.name == name))


async def open_downloads(session: AsyncSession, name: str) -> int:
    """Unfinished downloads a client holds or is meant to take."""
    query = select(func.count()).where(
        Download.client == name, Download.phase.in_([p.value for p in OPEN_PHASES])
    )
    return int(await session.scalar(query) or 0)


async def known_refs(session: AsyncSession, name: str) -> set[str]:
    """Every id haul has recorded on a client, finished downloads included."""
    query = select(Download.client_ref).where(
        Download.client == name, Download.client_ref.is_not(None)
    )
    return {str(ref) for ref in (await session.scalars(query)).all()}
