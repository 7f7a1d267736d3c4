"""The database handle the rest of haul receives: sessions for reading, one writer at a time.

SQLite allows one writer; letting several connections race for it ends in "database is
locked" when a reader upgrades. So on SQLite every write transaction of this process goes
through one asyncio lock, which also makes admission atomic. On PostgreSQL writes run
concurrently and admission takes a transaction-scoped advisory lock instead.

The hot write paths (submits, admission and claims, a job's start and end) use
:meth:`Database.run`: the whole transaction runs in a worker thread with a blocking session,
one event-loop hop per transaction. Through the async driver each *statement* is a hop, and on
a loop busy with transfers each hop waits its turn while holding SQLite's one write lock.

A thread cannot be stopped: a task cancelled while its transaction runs in one waits for that
transaction to end (committed or rolled back, its connection back in the pool) before the
cancellation goes on, and :meth:`Database.dispose` waits for any still running. Otherwise a
connection checked out when the engine is disposed would be returned to the discarded pool and
never closed, and a worker that stops could release its leases before a claim still under way
commits.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from haul.errors import StorageError
from haul.store.engines import create_engine, create_sync_engine, sessionmaker

T = TypeVar("T")

ADMISSION_LOCK_KEY = 0x6861756C  # "haul"
#: What a database that cannot be used raises (a full disk, a server restarting, a lost
#: connection), translated into :class:`~haul.errors.StorageError`.
_UNUSABLE = (OperationalError, InterfaceError)


class Database:
    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.engine: AsyncEngine = create_engine(url, pool_size=pool_size)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._sessions = sessionmaker(self.engine)
        self.sync_engine = create_sync_engine(url, pool_size=pool_size)
        self._write_lock = asyncio.Lock()
        self._threads: set[asyncio.Future[Any]] = set()
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
            except _UNUSABLE as exc:
                raise StorageError(f"The database failed: {exc.orig}") from exc
            self.write_count += 1

    async def run(self, work: Callable[[Session], T], *, admission: bool = False) -> T:
        """Run ``work`` in one write transaction, whole, in a worker thread (see above).

        ``work`` gets a blocking session and must not touch the event loop; what it returns
        (ORM objects included, detached) comes back here.
        """
        if self.is_sqlite:
            async with self._write_lock:
                result = await self._in_thread(lambda: self._run(work, False))
        else:
            result = await self._in_thread(lambda: self._run(work, admission))
        self.write_count += 1
        return result

    async def query(self, work: Callable[[Session], T]) -> T:
        """Run read-only ``work`` in a worker thread: no write lock, nothing committed (for
        passes that run every few seconds and mostly find nothing to change)."""
        return await self._in_thread(lambda: self._query(work))

    async def _in_thread(self, call: Callable[[], T]) -> T:
        """``call()`` in a worker thread; if the caller is cancelled, the cancellation goes on
        only once the thread is done (see the module's docstring)."""
        context = contextvars.copy_context()  # as asyncio.to_thread does
        future = asyncio.get_running_loop().run_in_executor(None, context.run, call)
        self._threads.add(future)
        future.add_done_callback(self._threads.discard)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            await _settled(future)
            raise

    def _query(self, work: Callable[[Session], T]) -> T:
        with Session(self.sync_engine, expire_on_commit=False) as session:
            try:
                return work(session)
            except _UNUSABLE as exc:
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
            except _UNUSABLE as exc:
                raise StorageError(f"The database failed: {exc.orig}") from exc

    async def ping(self) -> None:
        async with self._sessions() as session:
            await session.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        """Close every connection (after the transactions still running in threads end)."""
        cancelled = False
        for future in list(self._threads):
            cancelled |= await _settled(future)
        await self.engine.dispose()
        self.sync_engine.dispose()
        if cancelled:
            raise asyncio.CancelledError

    def __repr__(self) -> str:
        return f"Database({self.engine.url.render_as_string(hide_password=True)!r})"

    @staticmethod
    def dialect_of(session: AsyncSession) -> Any:
        return session.get_bind().dialect


async def _settled(future: asyncio.Future[Any]) -> bool:
    """Wait until ``future`` is done, even through cancellations of the waiting task; True if
    there were any (the caller re-raises). A failure of the work is marked as seen: the task
    that wanted its result was cancelled."""
    cancelled = False
    while not future.done():
        try:
            await asyncio.wait([future])
        except asyncio.CancelledError:
            cancelled = True
    if not future.cancelled():
        future.exception()
    return cancelled
