"""The database handle the rest of haul receives: sessions for reading, one writer at a time.

SQLite allows one writer; letting several connections race for it ends in "database is
locked" when a reader upgrades. So on SQLite every write transaction of this process goes
through one asyncio lock, which also makes admission atomic. On PostgreSQL writes run
concurrently and admission takes a transaction-scoped advisory lock instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from haul.errors import StorageError
from haul.store.db import create_engine, sessionmaker

ADMISSION_LOCK_KEY = 0x6861756C  # "haul"


class Database:
    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.engine: AsyncEngine = create_engine(url, pool_size=pool_size)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._sessions = sessionmaker(self.engine)
        self._write_lock = asyncio.Lock()
        #: Number of write transactions committed (the benchmark of writes per download).
        self.write_count = 0

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            yield session

    @asynccontextmanager
    async def write(self, *, admission: bool = False) -> AsyncIterator[AsyncSession]:
        """A write transaction, committed on success and rolled back on error.

        ``admission=True`` serialises it with every other admission decision, across
        processes on PostgreSQL.
        """
        if self.is_sqlite:
            async with self._write_lock, self._transaction(admission=False) as session:
                yield session
        else:
            async with self._transaction(admission=admission) as session:
                yield session

    @asynccontextmanager
    async def _transaction(self, *, admission: bool) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            try:
                async with session.begin():
                    if admission:
                        await session.execute(
                            text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADMISSION_LOCK_KEY}
                        )
                    yield session
            except OperationalError as exc:
                raise StorageError(f"The database failed: {exc.orig}") from exc
            self.write_count += 1

    async def ping(self) -> None:
        async with self._sessions() as session:
            await session.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({self.engine.url.render_as_string(hide_password=True)!r})"

    @staticmethod
    def dialect_of(session: AsyncSession) -> Any:
        return session.get_bind().dialect
