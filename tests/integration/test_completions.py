"""Completed jobs recorded together, and the claim that is a job's start (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from haul.clients.builtin.client import BuiltinClient
from haul.core.admission import Limits
from haul.core.sources import parse_source
from haul.core.status import Phase
from haul.engine.live import LiveJobs
from haul.events.bus import EventBus
from haul.store import downloads as q
from haul.store.database import Database
from haul.store.jobs import Completion, JobTransaction, Successor
from haul.store.migrate import upgrade
from haul.store.models import Download, DownloadEvent, utcnow
from haul.store.models import Worker as WorkerRow
from haul.store.sql_completions import CompletionWriter
from haul.store.sql_jobs import SqlJobStore
from haul.store.submits import NewDownload, submit_many
from haul.worker.loops import Worker, WorkerConfig

T = TypeVar("T")


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
        s.add(WorkerRow(id="w", hostname="h", pid=1))

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

    def admit_and_lease(tx: JobTransaction) -> list[int]:
        tx.admit_waiting(Limits(3))
        return [job.id for job in tx.claim("w", 3)]

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


async def leases(db: Database) -> dict[int, tuple[str | None, str]]:
    async with db.read() as s:
        found = await s.execute(select(Download.id, Download.lease_worker_id, Download.phase))
        return {int(i): (w, str(p)) for i, w, p in found.all()}


async def test_dropped_jobs_give_their_leases_back_and_running_ones_keep_them(
    db: Database,
) -> None:
    dropped, running_again, paused, others = await running(db, 4)
    async with db.write() as s:
        s.add(WorkerRow(id="v", hostname="h", pid=2))
        await s.flush()
        (await s.get(Download, paused.id)).desired_paused = True  # type: ignore[union-attr]
        (await s.get(Download, others.id)).lease_worker_id = "v"  # type: ignore[union-attr]
    ids = {dropped.id, running_again.id, paused.id, others.id}
    released = await db.run(
        lambda s: q.release_dropped(s, "w", ids, lambda i: i == running_again.id)
    )
    assert released == 2
    assert await leases(db) == {
        dropped.id: (None, Phase.ACTIVE),  # claimable again
        running_again.id: ("w", Phase.ACTIVE),  # leased again meanwhile: kept
        paused.id: (None, Phase.QUEUED),  # paused, its slot given back
        others.id: ("v", Phase.ACTIVE),  # another worker's
    }


async def test_a_job_dropped_again_while_its_lease_is_given_back_gives_it_back_later(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    [job] = await running(db, 1)
    live = LiveJobs()
    worker = Worker(
        SqlJobStore(db),
        EventBus(),
        BuiltinClient(tmp_path, live),
        live,
        cast(Any, None),
        lambda: Limits(10),
        WorkerConfig(),
    )
    worker.id = "w"
    live.drop(job.id)  # its end was not recorded
    release = db.run

    async def meanwhile(work: Callable[[Session], T], *, admission: bool = False) -> T:
        # Right after the release commits, the job is leased and run again, and its end is
        # not recorded again: dropped anew, its lease held by this worker.
        released = await release(work, admission=admission)
        [again] = await release(lambda s: q.claim(s, "w", 1, skip_locked=not db.is_sqlite))
        assert again.id == job.id
        live.register(job.id, "a")
        live.drop(job.id)
        return released

    monkeypatch.setattr(db, "run", meanwhile)
    assert await worker.give_back_dropped() == 1
    monkeypatch.undo()
    assert (await leases(db))[job.id] == ("w", Phase.ACTIVE)
    await worker.give_back_dropped()  # the next heartbeat
    assert (await leases(db))[job.id] == (None, Phase.ACTIVE), "no lease held by no job"


async def test_a_completion_written_again_is_recorded_once(db: Database) -> None:
    (row,) = await running(db, 1)
    writer = CompletionWriter(db, "w")
    files = [{"path": "a.bin", "name": "a.bin", "size": 1}]
    first = await writer.record(Completion(row.id, files, None, {}, utcnow()))
    # As after a commit whose answer was lost: the same completion once more.
    again = await writer.record(Completion(row.id, files, None, {}, utcnow()))
    assert (first.phase, again.phase) == (Phase.PROCESSING, Phase.PROCESSING)
    assert again.completed_at == first.completed_at and again.lease_worker_id == "w"
    assert await kinds(db, row.id) == ["created", "admitted", "started", "downloaded"]


async def test_a_completion_that_fails_undoes_what_its_successor_prepared(db: Database) -> None:
    (row,) = await running(db, 1)
    undone: list[bool] = []
    broken: list[dict[str, object]] = [{}]  # a file record without a path: the write fails
    completion = Completion(
        row.id,
        [],
        None,
        {},
        utcnow(),
        Successor(lambda tx: None, rolled_back=lambda: undone.append(True)),
        records=broken,
    )
    with pytest.raises(IntegrityError, match="path"):
        await CompletionWriter(db).record(completion)
    assert undone == [True]
    assert await leases(db) == {row.id: ("w", Phase.ACTIVE)}  # nothing of it was kept
