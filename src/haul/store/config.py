"""Named queries on the config table: the stored overrides of the runtime settings.

Only the keys asked for are ever read, so the private ``secret.*`` entries of the same table
never leave through here.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Row, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from haul.store.database import Database
from haul.store.models import ConfigEntry, utcnow


async def stored(session: AsyncSession, keys: Collection[str]) -> dict[str, Any]:
    """The stored values of ``keys`` (absent keys are not stored)."""
    rows = await session.execute(
        select(ConfigEntry.key, ConfigEntry.value).where(ConfigEntry.key.in_(list(keys)))
    )
    return {str(key): value for key, value in rows.all()}


async def stored_with_times(
    session: AsyncSession, keys: Collection[str]
) -> Sequence[Row[str, Any, datetime]]:
    """(key, value, updated_at) of the stored ``keys``."""
    rows = await session.execute(
        select(ConfigEntry.key, ConfigEntry.value, ConfigEntry.updated_at).where(
            ConfigEntry.key.in_(keys)
        )
    )
    return rows.all()


async def entry_value(session: AsyncSession, key: str) -> Any:
    """The stored value of one entry (a ``secret.*`` one included), None when absent."""
    return await session.scalar(select(ConfigEntry.value).where(ConfigEntry.key == key))


async def put(session: AsyncSession, values: Mapping[str, Any]) -> None:
    """Store ``values`` (insert or replace, one statement per key, safe against a process
    storing the same key at the same moment)."""
    insert = _dialect_insert(Database.dialect_of(session).name)
    now = utcnow()
    for key, value in values.items():
        # JSON null is a value here ("none": no limit, keep forever), not a missing one.
        stored_value = JSON.NULL if value is None else value
        statement = insert(ConfigEntry).values(key=key, value=stored_value, updated_at=now)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[ConfigEntry.key],
                set_={"value": statement.excluded.value, "updated_at": now},
            )
        )


def _dialect_insert(dialect: str) -> Any:
    """The dialect's own INSERT (with ON CONFLICT), imported when used: PostgreSQL's module
    costs some 2 MB in a SQLite server that never needs it."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


async def remove(session: AsyncSession, keys: Collection[str]) -> None:
    if keys:
        await session.execute(delete(ConfigEntry).where(ConfigEntry.key.in_(list(keys))))
