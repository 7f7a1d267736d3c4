"""The job store's behaviour, the same in memory, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from haul.core.admission import Limits
from haul.core.status import Phase
from haul.store.jobs import DesiredState, JobTransaction, Learned, WorkerInfo
from haul.store.models import utcnow
from tests.contract.conftest import Harness


async def admit(h: Harness, limits: Limits) -> list[int]:
    return await h.store.admission(lambda tx: tx.admit_waiting(limits))


async def claim(h: Harness, worker_id: str, limit: int = 10) -> list[int]:
    def work(tx: JobTransaction) -> list[int]:
        return [row.id for row in tx.claim(worker_id, limit)]

    return await h.store.admission(work)


async def test_admission_fills_the_free_slots_in_rank_order(harness: Harness) -> None:
    ids = [await harness.add("a", queue_rank=rank) for rank in (3, 1, 2)]
    await harness.add("a", queue_rank=0, phase=Phase.ACTIVE.value)  # holds a slot
    assert await admit(harness, Limits(3)) == [ids[1], ids[2]]
    assert await harness.get(ids[1], "phase") == Phase.ADMITTED.value
    assert await harness.get(ids[1], "admitted_at") is not None
    assert await harness.history(ids[1]) == ["admitted"]
    assert await admit(harness, Limits(3)) == []
    assert await harness.get(ids[0], "phase") == Phase.QUEUED.value


async def test_admission_is_fair_between_owners(harness: Harness) -> None:
    a = [await harness.add("a", queue_rank=rank) for rank in (1, 2, 3)]
    b = [await harness.add("b", queue_rank=rank) for rank in (1, 2)]
    assert await admit(harness, Limits(10, per_owner=1)) == [a[0], b[0]]
    assert await admit(harness, Limits(10, per_owner=2)) == [a[1], b[1]]
    assert await admit(harness, Limits(10, per_owner=2)) == []


async def test_a_full_client_lets_the_next_download_in_line_go(harness: Harness) -> None:
    first = await harness.add("a", queue_rank=1, client="aria")
    second = await harness.add("a", queue_rank=2, client="aria")
    builtin = await harness.add("a", queue_rank=3)
    limits = Limits(10, per_client={"aria": 1})
    assert await admit(harness, limits) == [first, builtin]
    assert await harness.get(second, "phase") == Phase.QUEUED.value


async def test_paused_canceled_and_later_retries_wait(harness: Harness) -> None:
    now = utcnow()
    later = now + timedelta(minutes=5)
    await harness.add("a", desired_paused=True)
    await harness.add("a", canceled_at=now)
    retry = await harness.add("a", retry_next_at=later)
    state = await harness.store.queue_state(now)
    assert (state.slots_used, state.waiting_due, state.claimable) == (0, False, False)
    assert state.next_retry is not None
    assert abs((state.next_retry - later).total_seconds()) < 1e-3
    assert await admit(harness, Limits(10)) == []
    await harness.set(retry, retry_next_at=now - timedelta(seconds=1))
    assert (await harness.store.queue_state(utcnow())).waiting_due
    assert await admit(harness, Limits(10)) == [retry]
    state = await harness.store.queue_state(utcnow())
    assert (state.slots_used, state.claimable) == (1, True)


async def test_a_claim_leases_admitted_builtin_jobs_and_starts_them(harness: Harness) -> None:
    await harness.store.register_worker(WorkerInfo("w1", "host", 1))
    external = await harness.add("a", client="aria")
    first = await harness.add("a", queue_rank=1)
    second = await harness.add("a", queue_rank=2, meta={"resolved": {"kind": "http"}})
    third = await harness.add("a", queue_rank=3)
    await admit(harness, Limits(10))
    await harness.set(second, started_at=utcnow())  # an earlier attempt started it
    assert await claim(harness, "w1", limit=2) == [first, second]
    assert await harness.get(first, "lease_worker_id") == "w1"
    assert await harness.get(first, "phase") == Phase.ACTIVE.value
    assert await harness.get(first, "client") == "builtin"
    assert await harness.get(first, "client_ref") == str(first)
    assert await harness.get(first, "started_at") is not None
    assert await harness.history(first) == ["admitted", "started"]
    assert await harness.history(second) == ["admitted", "resumed"]
    assert await claim(harness, "w1") == [third]
    assert await claim(harness, "w1") == []
    assert await harness.get(external, "lease_worker_id") is None


async def test_claimed_rows_are_as_stored(harness: Harness) -> None:
    await harness.store.register_worker(WorkerInfo("w1", "host", 1))
    job = await harness.add("a", title="A film", meta={"resolved": {"kind": "http"}})
    await admit(harness, Limits(10))
    rows = await harness.store.admission(lambda tx: tx.claim("w1", 1))
    [row] = rows
    assert (row.id, row.owner_key, row.title, row.phase) == (job, "a", "A film", "active")
    assert (row.lease_worker_id, row.client, row.client_ref) == ("w1", "builtin", str(job))
    assert row.meta == {"resolved": {"kind": "http"}}


async def test_heartbeat_and_reaping(harness: Harness) -> None:
    old = utcnow() - timedelta(hours=1)
    await harness.store.register_worker(WorkerInfo("dead", "host", 1, heartbeat_at=old))
    await harness.store.register_worker(WorkerInfo("alive", "host", 2))
    jobs = [await harness.add("a") for _ in range(3)]
    await admit(harness, Limits(10))
    assert len(await claim(harness, "dead", limit=2)) == 2
    assert len(await claim(harness, "alive")) == 1
    await harness.store.heartbeat("dead")
    beats = {w.id: w.heartbeat_at for w in await harness.store.workers()}
    assert beats["dead"] is not None and beats["dead"] > old
    assert await harness.store.reap_workers(["dead"]) == 2
    assert {w.id for w in await harness.store.workers()} == {"alive"}
    assert [await harness.get(j, "lease_worker_id") for j in jobs] == [None, None, "alive"]
    assert await harness.store.reap_workers([]) == 0
    assert sorted(await claim(harness, "alive")) == jobs[:2]


async def test_transfers_are_counted_by_worker_and_owner(harness: Harness) -> None:
    for worker in ("w1", "w2"):
        await harness.store.register_worker(WorkerInfo(worker, "host", 1))
    jobs = {await harness.add(owner): owner for owner in ("alice", "alice", "bob", "bob")}
    external = await harness.add("bob", client="aria")
    await admit(harness, Limits(10))
    assert len(await claim(harness, "w1", limit=3)) == 3
    assert len(await claim(harness, "w2")) == 1
    expected: dict[str, dict[str, int]] = {}
    for job, owner in jobs.items():
        owners = expected.setdefault(await harness.get(job, "lease_worker_id"), {})
        owners[owner] = owners.get(owner, 0) + 1
    assert sum(expected["w1"].values()) == 3 and sum(expected["w2"].values()) == 1
    assert await harness.store.transfers_by_worker() == expected
    assert await harness.get(external, "lease_worker_id") is None


async def test_desired_states(harness: Harness) -> None:
    plain = await harness.add("a")
    paused = await harness.add("a", desired_paused=True)
    canceled = await harness.add("a", canceled_at=utcnow())
    wanted = await harness.store.desired_states([plain, paused, canceled, 999])
    assert wanted == {
        plain: DesiredState(False, False),
        paused: DesiredState(True, False),
        canceled: DesiredState(False, True),
        999: DesiredState(False, True),  # deleted
    }


async def test_a_live_recording_is_noted_and_its_stop_is_wanted(harness: Harness) -> None:
    job = await harness.add("a", meta={"source_kind": "url"})
    live = {"kind": "live", "url": "http://tv.example/live.m3u8", "playlist": "http://tv/x"}
    await harness.store.recording(job, Learned(live, "Channel"), "Recording a live stream")
    assert await harness.get(job, "meta") == {"source_kind": "url", "resolved": live}
    assert await harness.get(job, "title") == "Channel"
    assert "recording" in await harness.history(job)
    assert (await harness.store.desired_states([job]))[job] == DesiredState(False, False)
    await harness.set(job, meta={"resolved": live, "stop_requested": True})
    assert (await harness.store.desired_states([job]))[job] == DesiredState(False, False, True)


async def test_dropped_leases_are_given_back(harness: Harness) -> None:
    await harness.store.register_worker(WorkerInfo("w1", "host", 1))
    await harness.store.register_worker(WorkerInfo("w2", "host", 2))
    jobs = [await harness.add("a") for _ in range(4)]
    await admit(harness, Limits(10))
    assert await claim(harness, "w1") == jobs
    dropped, running, paused, processing = jobs
    await harness.set(paused, desired_paused=True)
    await harness.set(processing, phase=Phase.PROCESSING.value)
    given = await harness.store.release_dropped("w1", jobs, lambda i: i == running)
    assert given == 2
    assert await harness.get(dropped, "lease_worker_id") is None
    assert await harness.get(dropped, "phase") == Phase.ACTIVE.value
    assert await harness.get(running, "lease_worker_id") == "w1"
    assert await harness.get(paused, "lease_worker_id") is None
    assert await harness.get(paused, "phase") == Phase.QUEUED.value  # holds no slot
    assert await harness.get(processing, "lease_worker_id") == "w1"
    assert await harness.store.release_dropped("w2", [running], lambda i: False) == 0
    assert await claim(harness, "w2") == [dropped]


async def test_finished_ids(harness: Harness) -> None:
    done = await harness.add("a", phase=Phase.COMPLETED.value)
    processing = await harness.add("a", phase=Phase.PROCESSING.value)
    await harness.add("a", phase=Phase.ACTIVE.value)
    failed = await harness.add("a", phase=Phase.FAILED.value)
    found = await harness.store.finished_ids([done, processing, failed, 999])
    assert found == {done, processing}
    assert await harness.store.finished_ids([]) == set()
