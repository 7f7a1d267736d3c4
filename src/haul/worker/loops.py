"""The worker: admits queued downloads, claims built-in jobs, runs them, keeps its lease alive.

Four loops run side by side. The scheduler admits waiting downloads into free slots (woken by
:meth:`Worker.wake`, by the next due retry, or every few seconds). The claimer leases admitted
jobs up to the worker's concurrency and runs them. The heartbeat renews this worker's lease on
all its jobs in one write, gives back the leases of jobs it dropped (their end could not be
recorded: a worker keeps leases only on jobs it runs), and returns jobs of dead workers to the
queue. The ticker publishes
the live progress of every running job at a fixed interval (coalesced, never per chunk).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from haul.clients.builtin.client import BuiltinClient
from haul.core.admission import Limits
from haul.core.status import Status
from haul.engine import filing
from haul.engine.base import Progress, StopReason
from haul.engine.live import LiveJob, LiveJobs
from haul.events.bus import EventBus
from haul.store.jobs import JobStore, JobTransaction, Successor, WorkerInfo
from haul.store.models import Download, utcnow
from haul.worker.bandwidth import Counts, SpeedKeeper, by_owner, owner_shares, share_of
from haul.worker.client_speeds import ClientSpeeds
from haul.worker.external import ExternalClients
from haul.worker.processing import Processor
from haul.worker.runner import JobRunner

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    concurrency: int = 10
    heartbeat_interval: float = 5.0
    lease_ttl: float = 30.0
    progress_interval: float = 0.5
    poll_interval: float = 2.0
    stall_timeout: float = 300.0
    reconcile_interval: float = 1.0


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def new_worker_id() -> str:
    """A worker's id: it holds the leases of the jobs it runs."""
    return str(uuid.uuid4())


class Worker:
    def __init__(
        self,
        jobs: JobStore,
        bus: EventBus,
        builtin: BuiltinClient,
        live: LiveJobs,
        runner: JobRunner,
        limits: Callable[[], Limits],
        config: WorkerConfig,
        *,
        on_admitted: Callable[[list[int]], Awaitable[None]] | None = None,
        external: ExternalClients | None = None,
        refresh_clients: Callable[[], Awaitable[None]] | None = None,
        processor: Processor | None = None,
        worker_id: str | None = None,
        wakeup: asyncio.Event | None = None,
        speeds: SpeedKeeper | None = None,
        client_speeds: ClientSpeeds | None = None,
    ) -> None:
        """``worker_id`` is this worker's lease holder id (a new one when not given; the
        parts that lease rows for it are made before it and take the id). ``wakeup`` is the
        event :meth:`wake` sets (whoever submits can be given its ``set`` before the worker
        exists). ``speeds`` keeps the speed limits and the schedule (None: no limits);
        ``client_speeds`` passes the limits on to the external clients."""
        self.jobs = jobs
        self.bus = bus
        self.builtin = builtin
        self.live = live
        self.runner = runner
        self.limits = limits
        self.config = config
        self.on_admitted = on_admitted
        self.external = external
        self.refresh_clients = refresh_clients
        self.processor = processor
        self.speeds = speeds
        self.client_speeds = client_speeds
        self.id = worker_id if worker_id is not None else new_worker_id()
        self.hostname = socket.gethostname()
        self._wake = wakeup if wakeup is not None else asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._running = False
        #: The built-in transfers of every worker by owner, as the last heartbeat read them.
        self._counts: Counts = {}

    async def start(self) -> None:
        await self.jobs.register_worker(WorkerInfo(self.id, self.hostname, os.getpid()))
        await self.reap()
        await self.sweep_notes()
        self._running = True
        loops = (
            self._scheduler,
            self._heartbeat,
            self._ticker,
            self._reconciler,
            self._monitor,
            self._processing,
            self._speeds,
        )
        for loop in loops:
            self._tasks.append(asyncio.create_task(loop(), name=f"haul-worker-{loop.__name__}"))
        self.wake()

    def wake(self) -> None:
        """Something changed (a submit, a resume, a finished job): look at the queue now."""
        self._wake.set()

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop taking work, stop running jobs (their data stays for a resume), release leases.

        The loops go first: a scheduler pass in flight may still lease and launch jobs, and a
        job launched after the running ones were told to stop would outlive the process's
        database and sessions. Then every job is stopped and awaited (cancelled if it does not
        end within ``timeout``)."""
        self._running = False
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        jobs = self.live.stop_all("shutdown")
        pending = [job.task for job in jobs if job.task is not None]
        if pending:
            _done, late = await asyncio.wait(pending, timeout=timeout)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
        if self.external is not None:
            await self.external.aclose()
        await self.jobs.reap_workers([self.id])

    # -- loops -------------------------------------------------------------------------

    async def _sleep_until(self, event: asyncio.Event, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
        event.clear()

    async def _scheduler(self) -> None:
        while self._running:
            try:
                timeout = await self.schedule()
                if self.external is not None and await self.external.dispatch():
                    timeout = 0.0  # a handed-over download frees nothing, but look again
            except Exception:
                log.exception("scheduler pass failed")
                timeout = self.config.poll_interval
            if timeout > 0:
                await self._sleep_until(self._wake, timeout)

    async def _speeds(self) -> None:
        """Follow the speed settings and schedule (see :mod:`haul.worker.bandwidth`)."""
        if self.speeds is not None:
            await self.speeds.run(lambda: self._running, self._schedule_pause, self.wake)

    def _schedule_pause(self) -> None:
        """A pause window began: the running transfers stop, keeping their parts, and go back
        to the queue; nothing is claimed until the window ends."""
        for job in self.live:
            if not job.stop.is_set():
                self.live.stop(job.download_id, "schedule")

    def held(self) -> bool:
        """Whether the speed schedule holds the queue (a pause window): nothing is admitted
        and the built-in engine claims nothing."""
        return self.speeds is not None and self.speeds.paused

    async def _processing(self) -> None:
        """Probe and file what finished (see :mod:`haul.worker.processing`)."""
        if self.processor is not None:
            await self.processor.run(lambda: self._running)

    async def _monitor(self) -> None:
        """Watch what external clients hold (completion, failures, sticky pause), and re-read
        their configuration now and then (another process may have changed it)."""
        if self.external is None:
            return
        last_refresh = time.monotonic()
        while self._running:
            await asyncio.sleep(self.external.config.monitor_interval)
            try:
                if self.refresh_clients is not None and time.monotonic() - last_refresh > 5:
                    last_refresh = time.monotonic()
                    await self.refresh_clients()
                self.external.monitoring.hold = self.held()
                if await self.external.monitor():
                    self.wake()  # finished downloads free slots
                if self.client_speeds is not None:
                    await self.client_speeds.apply()
                    await self.client_speeds.apply_items(
                        self.external.monitoring.running, by_owner(self._counts)
                    )
            except Exception:
                log.exception("monitor pass failed")

    async def schedule(self) -> float:
        """One pass: admit waiting downloads into free slots and lease what this worker can run
        (its own admissions, and jobs a dead worker or another process left), in one
        transaction. One read decides first whether there is anything to do, so an idle or full
        queue costs no write (on SQLite, no turn at the one write lock). Returns how long to
        sleep before the next pass if nothing wakes the worker."""
        limits = self.limits()
        now = utcnow()
        state = await self.jobs.queue_state(now)
        can_admit = (
            state.slots_used < limits.global_active and state.waiting_due and not self.held()
        )
        can_claim = (
            state.claimable
            and self.config.concurrency > self.live.transferring()
            and not self.held()
        )
        if can_admit or can_claim:
            registered: list[int] = []

            def admit_and_lease(tx: JobTransaction) -> tuple[list[int], list[Download]]:
                admitted = tx.admit_waiting(limits, now=now) if can_admit else []
                return admitted, self._lease(tx, registered)

            try:
                admitted, rows = await self.jobs.admission(admit_and_lease)
            except BaseException:
                self._unregister(registered)
                raise
            self._launch(rows)  # each job tells subscribers it started
            leased = {row.id for row in rows}
            others = [i for i in admitted if i not in leased]  # for external clients, workers
            if others and self.on_admitted is not None:
                await self.on_admitted(others)
        if state.next_retry is None:
            return self.config.poll_interval
        wait = (state.next_retry - now).total_seconds()
        return max(0.05, min(wait, self.config.poll_interval))

    def _lease(self, tx: JobTransaction, registered: list[int]) -> list[Download]:
        """Claim what this worker can run (in the store's transaction, off the loop);
        the ids of the jobs registered as live go to ``registered``."""
        capacity = self.config.concurrency - self.live.transferring()
        if capacity <= 0 or self.held():
            return []
        rows = tx.claim(self.id, capacity)
        # Registered before the commit, so a pause or cancel arriving right after finds the
        # job; later changes reach it through the reconciler.
        for row in rows:
            self.live.register(row.id, row.owner_key, row.title)
            registered.append(row.id)
        return rows

    def _unregister(self, registered: list[int]) -> None:
        """Undo the registration of jobs leased in a transaction that failed. Its commit may
        have happened all the same (a connection lost while committing), so their leases are
        given back too, by the next heartbeat (it gives back only what is still this
        worker's and not running)."""
        self.live.unregister(registered)
        registered.clear()

    def _launch(self, rows: list[Download]) -> None:
        for row in rows:
            job = self.live.get(row.id)
            assert job is not None, "registered when leased"
            job.task = asyncio.create_task(self._run(row, job), name=f"haul-job-{row.id}")

    async def _run(self, row: Download, job: LiveJob) -> None:
        """Run a job; when it completes, the write that records it admits and leases what its
        slot frees, and those jobs start as soon as it commits (no scheduler pass in between).
        Anything else wakes the scheduler."""

        limits = self.limits()
        registered: list[int] = []

        def admit_and_lease(tx: JobTransaction) -> tuple[list[int], list[Download]]:
            if not self._running or self.held():
                return [], []
            return tx.admit_waiting(limits), self._lease(tx, registered)

        def start(follow: tuple[list[int], list[Download]]) -> None:
            self._launch(follow[1])

        successor = Successor(admit_and_lease, start, lambda: self._unregister(registered))
        follow = await self.runner.run(row, job, successor)
        if follow is None:
            self.wake()
            return
        admitted, rows = follow
        leased = {leased_row.id for leased_row in rows}
        others = [i for i in admitted if i not in leased]  # for external clients, workers
        if others:
            if self.on_admitted is not None:
                await self.on_admitted(others)
            self.wake()

    async def _heartbeat(self) -> None:
        while self._running:
            await asyncio.sleep(self.config.heartbeat_interval)
            try:
                await self.jobs.heartbeat(self.id)
                await self.share_speed()
                await self.give_back_dropped()
                if await self.reap():
                    self.wake()
            except Exception:
                log.exception("heartbeat failed")

    async def share_speed(self) -> float:
        """Take this worker's part of the global and the per-owner speed limits (see
        :func:`~haul.worker.bandwidth.share_of`); returns its part of the global one."""
        budgets = self.speeds.budgets if self.speeds is not None else None
        if budgets is None or (budgets.global_limit is None and budgets.owner_limit is None):
            return 1.0  # no limit to share (no read)
        counts = self._counts = await self.jobs.transfers_by_worker()
        share = share_of(self.id, self.live.transferring(), counts)
        budgets.set_share(share)
        external = self._external_by_owner()
        mine = budgets.transfers_by_owner()
        budgets.set_owner_shares(owner_shares(self.id, mine, counts, external))
        return share

    def _external_by_owner(self) -> dict[str, int]:
        """The items external clients move, by owner, as the monitor last saw them."""
        running: dict[str, int] = {}
        if self.external is not None:
            for row in self.external.monitoring.running:
                running[row.owner_key] = running.get(row.owner_key, 0) + 1
        return running

    async def sweep_notes(self) -> int:
        """Delete the work folders of downloads recorded as finished whose process died before
        it deleted them (see :mod:`haul.engine.filing`); returns how many."""
        work_root = self.builtin.work_root
        noted = await asyncio.to_thread(filing.noted_folders, work_root)
        if not noted:
            return 0
        finished = await self.jobs.finished_ids(sorted(noted))
        for download_id in sorted(finished):
            filing.remove_folder(noted[download_id], work_root)
        return len(finished)

    async def give_back_dropped(self) -> int:
        """Release the leases of jobs this worker dropped without recording their end (see
        ``LiveJobs.drop``): the heartbeat keeps only the leases of jobs it runs.
        Returns how many were released. The set is taken whole before the write: a job
        leased and dropped again meanwhile lands in the fresh set, for the next heartbeat."""
        dropped = self.live.take_dropped()
        if not dropped:
            return 0
        try:
            released = await self.jobs.release_dropped(self.id, dropped, self.live.__contains__)
        except BaseException:
            self.live.keep_dropped(dropped)  # not given back: still dropped
            raise
        if released:
            log.info("gave back the leases of %d jobs this worker no longer runs", released)
            self.wake()
        return released

    async def reap(self) -> int:
        """Return the jobs of dead workers to the queue: those whose heartbeat is older than the
        lease, and those on this host whose process is gone (no need to wait for the lease)."""
        cutoff = utcnow() - timedelta(seconds=self.config.lease_ttl)
        known = await self.jobs.workers()
        dead = [
            w.id
            for w in known
            if w.id != self.id
            and (
                (w.heartbeat_at is not None and w.heartbeat_at < cutoff)
                or (w.hostname == self.hostname and not pid_alive(w.pid))
            )
        ]
        if not dead:
            return 0
        released = await self.jobs.reap_workers(dead)
        if released:
            log.info("returned %d jobs of %d dead workers to the queue", released, len(dead))
        return released

    async def _reconciler(self) -> None:
        """Re-apply the wanted state to running jobs: a pause or cancel asked of another process
        (or one that raced a claim) reaches the job here within ``reconcile_interval``."""
        while self._running:
            await asyncio.sleep(self.config.reconcile_interval)
            try:
                await self.reconcile()
            except Exception:
                log.exception("reconcile pass failed")

    async def reconcile(self) -> int:
        ids = [
            job.download_id
            for job in self.live
            if not job.stop.is_set() or job.stop.reason == "finish"
        ]
        if not ids:
            return 0
        wanted = await self.jobs.desired_states(ids)
        stopped = 0
        for download_id, state in wanted.items():
            reason: StopReason | None = (
                "cancel"
                if state.canceled
                else "pause"
                if state.paused
                else "finish"
                if state.finish
                else None
            )
            job = self.live.get(download_id)
            if self.speeds is not None and job is not None:
                self.speeds.budgets.set_download_limit(download_id, state.speed_limit)
            if reason is None or job is None:
                continue
            if job.stop.reason == "finish" and reason != "cancel":
                continue  # a recording being finished: only a cancel still changes it
            self.live.stop(download_id, reason)
            stopped += 1
        return stopped

    async def _ticker(self) -> None:
        while self._running:
            await asyncio.sleep(self.config.progress_interval)
            now = time.monotonic()
            for job in self.live:
                if job.idle_for(now) >= self.config.stall_timeout and not job.stop.is_set():
                    log.warning("download %s stalled; stopping it", job.download_id)
                    job.stop.set("stall")
                if job.status is not Status.DOWNLOADING or job.progress is None:
                    continue
                p = job.progress
                self.bus.publish(
                    "progress",
                    job.download_id,
                    job.owner,
                    status=job.status.value,
                    message=self.builtin.stall_message(job),
                    downloaded_bytes=p.downloaded_bytes,
                    total_bytes=p.total_bytes,
                    progress=(p.downloaded_bytes / p.total_bytes) if p.total_bytes else None,
                    speed=p.speed,
                    eta=p.eta,
                    **_live_progress(p),
                )


def _live_progress(p: Progress) -> dict[str, Any]:
    """What a progress event adds for a live recording: that it is one, and its length."""
    return {"live": True, "recorded_seconds": p.recorded_seconds} if p.live else {}
