"""Completed jobs recorded together, and the claim that is a job's start (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from haul.core.admission import Limits
from haul.core.sources import parse_source
from haul.core.status import Phase
from haul.engine.completions import Completion, CompletionWriter, Successor
from haul.store import downloads as q
from haul.store.database import Database
from haul.store.db import upgrade
from haul.store.models import Download, DownloadEvent, Worker, utcnow
from haul.store.submits import NewDownload, submit_many


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    await asyncio.to_thread(upgrade, database_url)
    database = Database(database_url)
    try:
        yield database
    finally:
        await database.dispose()


async def running(db: Database, count: int, queued: int = 0) -> list[Download]:
    """``count`` downloads claimed by worker ``w`` (started), and ``queued`` more waiting."""
    items = [
        NewDownload(parse_source(f"http://example.test/{n}.bin"), "local")
        for n in range(count + queued)
    ]
    await db.run(lambda s: submit_many(s, items, limits=Limits(1000), policy="queue"))
    async with db.write() as s:
        s.add(Worker(id="w", hostname="h", pid=1))

    def start(s: Session) -> list[Download]:
        q.admit_waiting(s, Limits(count))
        return q.claim(s, "w", count, skip_locked=not db.is_sqlite)

    return await db.run(start, admission=True)


async def kinds(db: Database, download_id: int) -> list[str]:
    async with db.read() as s:
        query = select(DownloadEvent.kind).where(DownloadEvent.download_id == download_id)
        return list((await s.scalars(query.order_by(DownloadEvent.id))).all())


async def test_the_claim_records_the_start(db: Database) -> None:
    (row,) = await running(db, 1)
    assert (row.phase, row.client, row.client_ref, row.lease_worker_id) == (
        Phase.ACTIVE,
        "builtin",
        str(row.id),
        "w",
    )
    async with db.read() as s:
        stored = await s.get(Download, row.id)
    assert stored is not None and stored.started_at == row.started_at is not None
    assert (stored.phase, stored.client_ref) == (Phase.ACTIVE, str(row.id))
    assert await kinds(db, row.id) == ["created", "admitted", "started"]


async def test_completions_waiting_together_are_one_transaction(db: Database) -> None:
    rows = await running(db, 3, queued=3)
    writer = CompletionWriter(db)

    def admit_and_lease(s: Session) -> list[int]:
        q.admit_waiting(s, Limits(3))
        return [job.id for job in q.claim(s, "w", 3, skip_locked=not db.is_sqlite)]

    before = db.write_count
    results = await asyncio.gather(
        *(
            writer.record(
                Completion(
                    row.id,
                    [{"path": f"{row.id}.bin", "name": f"{row.id}.bin", "size": 1}],
                    None,
                    {},
                    utcnow(),
                    Successor(admit_and_lease) if row is rows[0] else None,
                )
            )
            for row in rows
        )
    )
    assert db.write_count - before == 1
    assert {r.phase for r in results} == {Phase.PROCESSING}
    # The successor ran after every completion of the batch: it found all three slots free.
    follow = results[0].follow
    assert isinstance(follow, list) and len(follow) == 3
    for row in rows:
        assert await kinds(db, row.id) == ["created", "admitted", "started", "downloaded"]
