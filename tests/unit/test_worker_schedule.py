"""The worker's decisions against the in-memory job store: admission into free slots, leases
up to its concurrency, successors of finished jobs, reaping, reconciling, given-back leases."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

from haul.clients.builtin.client import BuiltinClient
from haul.core.admission import Limits
from haul.core.status import Phase, Status
from haul.engine.live import LiveJob, LiveJobs
from haul.events.bus import EventBus
from haul.store.jobs import Successor, WorkerInfo
from haul.store.memory import MemoryJobStore, MemoryTransaction
from haul.store.models import Download, utcnow
from haul.worker.loops import Worker, WorkerConfig

T = TypeVar("T")
TEN = Limits(10)


class FakeRunner:
    """Runs nothing: each job waits until the test finishes it (or stops it)."""

    def __init__(self, store: MemoryJobStore, live: LiveJobs) -> None:
        self.store = store
        self.live = live
        self.started: list[int] = []
        self.finish: dict[int, asyncio.Event] = {}

    async def run(
        self, row: Download, job: LiveJob, successor: Successor[T] | None = None
    ) -> T | None:
        self.started.append(row.id)
        done = self.finish.setdefault(row.id, asyncio.Event())
        await done.wait()
        job.status = Status.PROCESSING  # filed: no longer takes a transfer slot
        async with self.store.lock:  # the completion's write, with its successor
            stored = self.store.state.jobs[row.id]
            stored.phase = Phase.COMPLETED.value
            stored.lease_worker_id = None
            follow = successor.within(MemoryTransaction(self.store.state)) if successor else None
        if successor is not None and successor.committed is not None:
            successor.committed(follow)
        self.live.end(row.id)
        return follow


def make_worker(
    tmp_path: Path, limits: Limits = TEN, concurrency: int = 2
) -> tuple[Worker, MemoryJobStore, FakeRunner, list[list[int]]]:
    store = MemoryJobStore()
    live = LiveJobs()
    builtin = BuiltinClient(tmp_path, live)
    runner = FakeRunner(store, live)
    told: list[list[int]] = []

    async def on_admitted(ids: list[int]) -> None:
        told.append(ids)

    worker = Worker(
        store,
        EventBus(),
        builtin,
        live,
        cast(Any, runner),
        lambda: limits,
        WorkerConfig(concurrency=concurrency),
        on_admitted=on_admitted,
    )
    return worker, store, runner, told


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_pass_admits_into_free_slots_and_leases_up_to_concurrency(
    tmp_path: Path,
) -> None:
    worker, store, runner, told = make_worker(tmp_path, Limits(4), concurrency=2)
    await store.register_worker(WorkerInfo(worker.id, "host", 1))
    ids = [store.state.add("a", queue_rank=i).id for i in range(5)]
    external = store.state.add("a", queue_rank=9, client="aria").id
    await worker.schedule()
    await settle()
    assert runner.started == ids[:2]
    assert [store.state.jobs[i].phase for i in ids] == ["active"] * 2 + ["admitted"] * 2 + [
        "queued"
    ]
    assert told == [ids[2:4]]  # admitted but not leased here: for other workers
    assert set(worker.live.ids()) == set(ids[:2])
    assert store.state.jobs[external].phase == Phase.QUEUED.value
    for event in runner.finish.values():
        event.set()
    await settle()


async def test_an_idle_queue_costs_no_write(tmp_path: Path) -> None:
    worker, store, _, _ = make_worker(tmp_path)
    await store.register_worker(WorkerInfo(worker.id, "host", 1))
    assert await worker.schedule() == worker.config.poll_interval
    store.state.add("a", retry_next_at=utcnow() + timedelta(seconds=0.5))
    wait = await worker.schedule()
    assert 0.05 <= wait <= 0.5
    assert store.write_count == 0


async def test_a_finished_job_hands_its_slot_to_the_next_in_line(tmp_path: Path) -> None:
    worker, store, runner, _ = make_worker(tmp_path, Limits(1), concurrency=1)
    await store.register_worker(WorkerInfo(worker.id, "host", 1))
    first, second = (store.state.add("a", queue_rank=i).id for i in range(2))
    worker._running = True
    await worker.schedule()
    await settle()
    assert runner.started == [first]
    runner.finish.setdefault(first, asyncio.Event()).set()
    await settle()
    # The completion's own transaction admitted and leased the successor: no scheduler pass.
    assert runner.started == [first, second]
    assert store.state.jobs[second].lease_worker_id == worker.id
    worker._running = False
    runner.finish.setdefault(second, asyncio.Event()).set()
    await settle()


async def test_reconcile_stops_paused_and_canceled_jobs(tmp_path: Path) -> None:
    worker, store, _, _ = make_worker(tmp_path)
    paused = store.state.add("a", desired_paused=True).id
    canceled = store.state.add("a", canceled_at=utcnow()).id
    plain = store.state.add("a").id
    deleted = 999
    for i in (paused, canceled, plain, deleted):
        worker.live.register(i, "a")
    jobs = {i: worker.live.get(i) for i in (paused, canceled, plain, deleted)}
    assert await worker.reconcile() == 3
    assert {i: job.stop.reason for i, job in jobs.items() if job is not None} == {
        paused: "pause",
        canceled: "cancel",
        deleted: "cancel",
        plain: None,
    }
    assert await worker.reconcile() == 0  # stopped jobs are not asked again


async def test_reap_returns_the_jobs_of_dead_workers(tmp_path: Path) -> None:
    worker, store, _, _ = make_worker(tmp_path)
    old = utcnow() - timedelta(hours=1)
    await store.register_worker(WorkerInfo(worker.id, worker.hostname, 1, heartbeat_at=old))
    await store.register_worker(WorkerInfo("dead", "elsewhere", 1, heartbeat_at=old))
    await store.register_worker(WorkerInfo("alive", "elsewhere", 1))
    mine = store.state.add("a", lease_worker_id=worker.id, phase="active").id
    theirs = store.state.add("a", lease_worker_id="dead", phase="active").id
    kept = store.state.add("a", lease_worker_id="alive", phase="active").id
    assert await worker.reap() == 1
    assert store.state.jobs[theirs].lease_worker_id is None
    assert store.state.jobs[mine].lease_worker_id == worker.id  # never its own
    assert store.state.jobs[kept].lease_worker_id == "alive"
    assert set(store.state.workers) == {worker.id, "alive"}


async def test_dropped_jobs_give_back_their_leases(tmp_path: Path) -> None:
    worker, store, _, _ = make_worker(tmp_path)
    fields: dict[str, Any] = {"lease_worker_id": worker.id, "phase": "active", "client": "builtin"}
    dropped = store.state.add("a", **fields).id
    running = store.state.add("a", **fields).id
    worker.live.drop(dropped)
    worker.live.drop(running)
    worker.live.register(running, "a")  # leased again: running here now
    assert await worker.give_back_dropped() == 1
    assert store.state.jobs[dropped].lease_worker_id is None
    assert store.state.jobs[running].lease_worker_id == worker.id
    assert worker.live.dropped() == frozenset()
    assert await worker.give_back_dropped() == 0


async def test_notes_of_finished_downloads_are_swept(tmp_path: Path) -> None:
    worker, store, _, _ = make_worker(tmp_path)
    done = store.state.add("a", phase="completed").id
    open_ = store.state.add("a", phase="active").id
    for i in (done, open_):
        folder = worker.builtin.work_dir(i)
        folder.mkdir(parents=True)
        (folder / "filed.json").write_text("{}")
    assert await worker.sweep_notes() == 1
    assert not worker.builtin.work_dir(done).exists()
    assert worker.builtin.work_dir(open_).exists()


class StoppableRunner(FakeRunner):
    """Each job runs until it is told to stop; what is still running is noted."""

    def __init__(self, store: MemoryJobStore, live: LiveJobs) -> None:
        super().__init__(store, live)
        self.running: set[int] = set()

    async def run(
        self, row: Download, job: LiveJob, successor: Successor[T] | None = None
    ) -> T | None:
        self.started.append(row.id)
        self.running.add(row.id)
        try:
            while not job.stop.is_set():
                await asyncio.sleep(0.01)
        finally:
            self.running.discard(row.id)
            self.live.end(row.id)
        return None


class GatedStore(MemoryJobStore):
    """A store whose admissions wait at a gate once it is closed: a pass held in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()
        self.gate.set()

    async def admission(self, work: Any) -> Any:
        self.entered.set()
        await self.gate.wait()
        return await super().admission(work)


async def test_a_job_leased_by_a_pass_in_flight_at_stop_does_not_outlive_the_stop(
    tmp_path: Path,
) -> None:
    """A pass that leases while the worker stops its running jobs must not leave a job
    running after the stop: that job would reach the database and sessions the process has
    closed by then."""
    store = GatedStore()
    live = LiveJobs()
    runner = StoppableRunner(store, live)
    worker = Worker(
        store,
        EventBus(),
        BuiltinClient(tmp_path, live),
        live,
        cast(Any, runner),
        lambda: TEN,
        WorkerConfig(concurrency=2, poll_interval=60),
    )
    first = store.state.add("a", queue_rank=0).id
    await worker.start()
    await wait_until(lambda: runner.running == {first})
    store.gate.clear()
    store.entered.clear()
    second = store.state.add("a", queue_rank=1).id
    worker.wake()
    await asyncio.wait_for(store.entered.wait(), 5)  # the next pass waits at the gate
    stopping = asyncio.create_task(worker.stop(timeout=5))
    await settle()
    store.gate.set()  # the pass goes on while the worker waits for its running job
    await asyncio.wait_for(stopping, 10)
    await settle()
    assert runner.running == set()
    assert not live.ids()
    assert store.state.jobs[first].lease_worker_id is None  # given back for the next start
    assert store.state.jobs[second].lease_worker_id is None


async def wait_until(condition: Any, timeout: float = 5.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)
