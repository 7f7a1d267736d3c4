"""The database handle the rest of haul receives: sessions for reading, one writer at a time.

SQLite allows one writer; letting several connections race for it ends in "database is
locked" when a reader upgrades. So on SQLite every write transaction of this process goes
through one asyncio lock, which also makes admission atomic. On PostgreSQL writes run
concurrently and admission takes a transaction-scoped advisory lock instead.

The hot write paths (submits, admission and claims, a job's start and end) use
:meth:`Database.run`: the whole transaction runs in a worker thread with a blocking session,
one event-loop hop per transaction. Through the async driver each *statement* is a hop, and on
a loop busy with transfers each hop waits its turn while holding SQLite's one write lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from haul.errors import StorageError
from haul.store.db import create_engine, create_sync_engine, sessionmaker

T = TypeVar("T")

ADMISSION_LOCK_KEY = 0x6861756C  # "haul"


class Database:
    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.engine: AsyncEngine = create_engine(url, pool_size=pool_size)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._sessions = sessionmaker(self.engine)
        self.sync_engine = create_sync_engine(url, pool_size=pool_size)
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

    async def run(self, work: Callable[[Session], T], *, admission: bool = False) -> T:
        """Run ``work`` in one write transaction, whole, in a worker thread (see above).

        ``work`` gets a blocking session and must not touch the event loop; what it returns
        (ORM objects included, detached) comes back here.
        """
        if self.is_sqlite:
            async with self._write_lock:
                result = await asyncio.to_thread(self._run, work, False)
        else:
            result = await asyncio.to_thread(self._run, work, admission)
        self.write_count += 1
        return result

    async def query(self, work: Callable[[Session], T]) -> T:
        """Run read-only ``work`` in a worker thread: no write lock, nothing committed (for
        passes that run every few seconds and mostly find nothing to change)."""
        return await asyncio.to_thread(self._query, work)

    def _query(self, work: Callable[[Session], T]) -> T:
        with Session(self.sync_engine, expire_on_commit=False) as session:
            try:
                return work(session)
            except OperationalError as exc:
                raise StorageError(f"The database failed: {exc.orig}") from exc
            finally:
                session.rollback()

    def _run(self, work: Callable[[Session], T], admission: bool) -> T:
        with Session(self.sync_engine, expire_on_commit=False) as session:
            try:
                with session.begin():
                    if admission:
                        session.execute(
                            text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADMISSION_LOCK_KEY}
                        )
                    return work(session)
            except OperationalError as exc:
                raise StorageError(f"The database failed: {exc.orig}") from exc

    async def ping(self) -> None:
        async with self._sessions() as session:
            await session.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
        self.sync_engine.dispose()

    def __repr__(self) -> str:
        return f"Database({self.engine.url.render_as_string(hide_password=True)!r})"

    @staticmethod
    def dialect_of(session: AsyncSession) -> Any:
        return session.get_bind().dialect
