"""Every database connection haul opens is closed, also when the task using it is cancelled.

A connection left to the garbage collector stays open on the server until then, and psycopg
warns when it goes (a ResourceWarning, which fails whatever test happens to be running).
"""

from __future__ import annotations

import asyncio
import gc
import threading
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from haul.events.bus import EventBus
from haul.events.pg import PgEventBridge, libpq_url
from haul.store.database import Database
from haul.store.migrate import upgrade
from haul.store.models import Worker
from tests.support.pg import fresh_database
from tests.support.wait import await_for

RELEASE_AFTER = 0.2  # the thread's transaction ends this long after its task is cancelled


def _others_on(url: str) -> int:
    """Connections to the database of ``url`` other than the one asking."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert row is not None
    return int(row[0])


async def none_left_open(url: str) -> None:
    """No connection to the database stays open, on the server or in this process."""
    if not url.startswith("sqlite"):

        async def all_closed() -> bool:
            return await asyncio.to_thread(_others_on, url) == 0

        await await_for(all_closed, 10, what="every connection to the test database to close")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
    leaks = [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert not leaks, [str(w.message) for w in leaks]


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    await asyncio.to_thread(upgrade, database_url)
    database = Database(database_url)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    released = threading.Event()
    yield released
    released.set()  # never leave a thread waiting, whatever the test did


def held_registration(inside: threading.Event, gate: threading.Event, worker_id: str) -> Any:
    """A write that connects, registers a worker and then waits for ``gate``."""

    def work(s: Session) -> None:
        s.add(Worker(id=worker_id, hostname="test", pid=1))
        s.flush()  # connected, the row written in the open transaction
        inside.set()
        gate.wait(30)

    return work


async def test_a_cancelled_write_ends_whole_before_its_task_does(
    db: Database, database_url: str, gate: threading.Event
) -> None:
    inside, worker_id = threading.Event(), str(uuid.uuid4())
    task = asyncio.create_task(db.run(held_registration(inside, gate, worker_id)))
    await asyncio.to_thread(inside.wait, 30)

    task.cancel()
    asyncio.get_running_loop().call_later(RELEASE_AFTER, gate.set)
    with pytest.raises(asyncio.CancelledError):
        await task

    assert gate.is_set(), "the cancelled task ended while its transaction was still running"
    async with db.read() as s:
        assert await s.scalar(select(Worker.id).where(Worker.id == worker_id)) == worker_id
    await db.dispose()
    await none_left_open(database_url)


async def test_dispose_waits_for_a_transaction_still_running_in_a_thread(
    db: Database, database_url: str, gate: threading.Event
) -> None:
    inside = threading.Event()
    task = asyncio.create_task(db.run(held_registration(inside, gate, str(uuid.uuid4()))))
    await asyncio.to_thread(inside.wait, 30)

    asyncio.get_running_loop().call_later(RELEASE_AFTER, gate.set)
    await db.dispose()  # nobody awaits the task first (a shutdown in a hurry)

    assert gate.is_set(), "the engines were disposed while a connection was checked out"
    await task
    await none_left_open(database_url)


@pytest.mark.postgres
async def test_a_bridge_start_cancelled_while_connecting_closes_what_it_opened(
    pg_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_connect = psycopg.AsyncConnection.connect
    opened: list[psycopg.AsyncConnection[Any]] = []
    second_in_flight = asyncio.Event()

    async def connect(*args: Any, **kwargs: Any) -> psycopg.AsyncConnection[Any]:
        if opened:  # the second connection never comes (a server that stopped answering)
            second_in_flight.set()
            await asyncio.Event().wait()
        conn = await real_connect(*args, **kwargs)
        opened.append(conn)
        return conn

    with fresh_database(pg_server) as url:
        monkeypatch.setattr(psycopg.AsyncConnection, "connect", connect)
        bridge = PgEventBridge(url, EventBus())
        starting = asyncio.create_task(bridge.start())
        await asyncio.wait_for(second_in_flight.wait(), 30)

        starting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await starting

        assert [conn.closed for conn in opened] == [True]
        await bridge.stop()  # harmless after a start that did not finish
        await none_left_open(url)
