"""A built-in job's run without a database or a network: the job runner on the in-memory job
store, the scripted engine and a download root in a temporary folder.

A :class:`Bench` puts a download in, claims it as a worker would, runs it, and reads back
what a user would see: the stored row, its history, the files in the download root, the
built-in client's view of a running job, and who was told of what.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from haul.clients.builtin.client import WORK_FOLDER, BuiltinClient
from haul.core.admission import Limits
from haul.core.client_items import ClientItem
from haul.core.lifecycle import Change, Snapshot
from haul.core.retry import Backoff, RetryPolicy
from haul.core.status import Phase
from haul.engine.base import Profile
from haul.engine.fake import FakeEngine, Script
from haul.engine.live import LiveJob, LiveJobs
from haul.store.jobs import WorkerInfo
from haul.store.memory import MemoryJobStore
from haul.store.memory_state import StoredEvent, StoredJob
from haul.store.models import Download, utcnow
from haul.worker.context import JobContext
from haul.worker.runner import JobRunner

WORKER = "worker-1"
OWNER = "alice"


def probe(
    download_id: int, files: list[dict[str, Any]], profile: str | None
) -> tuple[list[dict[str, Any]], list[tuple[str, str | None, dict[str, Any]]]]:
    """Probes finished files as the processing step would, without ffprobe: one record each."""
    records = [{"path": f["path"], "size": f["size"]} for f in files]
    return records, [("probed", None, {"files": len(files)})]


@dataclass
class Bench:
    root: Path
    store: MemoryJobStore
    live: LiveJobs
    builtin: BuiltinClient
    #: The direct (HTTP) engine's stand-in.
    direct: FakeEngine
    #: The media (yt-dlp) engine's stand-in.
    media: FakeEngine
    runner: JobRunner
    #: What subscribers were told, in order: each download's phase as it was told.
    published: list[tuple[int, str]] = field(default_factory=list)
    #: Downloads the notifications heard failed for good, or completed.
    failed: list[int] = field(default_factory=list)
    completed: list[int] = field(default_factory=list)
    #: Downloads handed to the processing step.
    processed: list[int] = field(default_factory=list)

    @property
    def ctx(self) -> JobContext:
        return self.runner.ctx

    def script(self, url: str, **fields: Any) -> Script:
        """What the direct engine does with ``url``."""
        script = Script(**fields)
        self.direct.scripts[url] = script
        return script

    async def claimed(
        self, url: str, owner: str = OWNER, **fields: Any
    ) -> tuple[Download, LiveJob]:
        """A download of ``url`` admitted and leased to this worker (``started`` in its
        history), registered as running here: what the worker hands the runner."""
        stored = self.store.state.add(owner, source_url=url, dedupe_key=url, **fields)
        return await self.reclaimed(stored.id)

    async def reclaimed(self, download_id: int) -> tuple[Download, LiveJob]:
        """Its next attempt: admitted (when its retry is due) and leased again."""
        due = self.stored(download_id).retry_next_at or utcnow()

        def lease(tx: Any) -> list[Download]:
            tx.admit_waiting(Limits(10), now=due)
            return list(tx.claim(WORKER, 10))

        rows = await self.store.admission(lease)
        row = next(r for r in rows if r.id == download_id)
        return row, self.live.register(row.id, row.owner_key, row.title)

    async def run(self, url: str, owner: str = OWNER, **fields: Any) -> tuple[Download, LiveJob]:
        """Claim a download of ``url`` and run it to its next resting state."""
        row, job = await self.claimed(url, owner, **fields)
        await self.runner.run(row, job)
        return row, job

    def start(self, row: Download, job: LiveJob) -> asyncio.Task[None]:
        """Run a claimed job in its own task, as the worker does."""

        async def run() -> None:
            await self.runner.run(row, job)

        job.task = asyncio.create_task(run())
        return job.task

    def ask(self, download_id: int, command: Callable[[Snapshot], Change]) -> None:
        """A person's wish written to the row as the download service writes it (pause,
        cancel); the running job hears of it when it is told to stop."""
        job = self.stored(download_id)
        snapshot = Snapshot(
            job.id,
            Phase(job.phase),
            desired_paused=job.desired_paused,
            leased=job.lease_worker_id is not None,
            client=job.client,
            client_ref=job.client_ref,
            canceled=job.canceled_at is not None,
            started=job.started_at is not None,
            retry_attempt=job.retry_attempt,
            retry_next_at=job.retry_next_at,
        )
        change = command(snapshot)
        for key, value in change.updates.items():
            setattr(job, key, value)
        if change.event is not None:
            self.store.state.event(download_id, change.event, **change.event_data)

    async def item(self, download_id: int) -> ClientItem:
        """The download as the built-in client shows it (live progress while it runs)."""
        return (await self.builtin.items([str(download_id)]))[str(download_id)]

    def stored(self, download_id: int) -> StoredJob:
        return self.store.state.jobs[download_id]

    def history(self, download_id: int) -> list[str]:
        return self.store.state.history(download_id)

    def events(self, download_id: int, kind: str) -> list[StoredEvent]:
        return [
            e for e in self.store.state.events if e.download_id == download_id and e.kind == kind
        ]

    def root_files(self) -> dict[str, int]:
        """The files in the download root (outside the work folders), by path, with sizes."""
        return {
            str(p.relative_to(self.root)): p.stat().st_size
            for p in self.root.rglob("*")
            if p.is_file() and WORK_FOLDER not in p.relative_to(self.root).parts
        }

    def work_files(self, download_id: int) -> list[str]:
        """What lies in a job's work folder (its partial data, its filing note)."""
        folder = self.builtin.work_dir(download_id)
        return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


async def bench(
    tmp_path: Path,
    *,
    retry: RetryPolicy | None = None,
    probed: bool = True,
    profiles: dict[int, Profile] | None = None,
) -> Bench:
    """A runner on a fresh in-memory store with one registered worker; ``probed``: finished
    files are probed with their completion (else they wait for the processing step)."""
    root = tmp_path / "downloads"
    root.mkdir()
    store = MemoryJobStore(worker_id=WORKER)
    await store.register_worker(WorkerInfo(WORKER, "host", 1))
    live = LiveJobs()
    builtin = BuiltinClient(root, live)
    published: list[tuple[int, str]] = []
    failed: list[int] = []
    completed: list[int] = []
    processed: list[int] = []
    known = profiles or {}

    async def publish(row: Download) -> None:
        published.append((row.id, row.phase))

    async def profile(profile_id: int | None) -> Profile:
        return known.get(profile_id or 0, Profile())

    direct, media = FakeEngine(), FakeEngine()
    policy = retry or RetryPolicy(max_attempts=2, base_delay=5.0, jitter=0)
    ctx = JobContext(
        jobs=store,
        builtin=builtin,
        live=live,
        direct=direct,
        media=media,
        retry=lambda: policy,
        publish=publish,
        profiles=profile,
        processed=processed.append,
        failed=lambda row: failed.append(row.id),
        completed=lambda row: completed.append(row.id),
        probe=probe if probed else None,
        storage_backoff=Backoff(base_delay=0.01, max_delay=0.05),
    )
    runner = JobRunner(ctx)
    return Bench(
        root, store, live, builtin, direct, media, runner, published, failed, completed, processed
    )
