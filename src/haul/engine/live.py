"""The transfers running in this process: one :class:`LiveJob` each, in a :class:`LiveJobs`
registry.

The worker owns the registry: it registers a job when it leases it, ends it when the job
stops, and marks it *dropped* when the job stopped without its end being recorded (the
database refused the write), so that its lease is given back. Everyone else reads it (the
built-in client, the metrics) or asks a job to stop through its signal.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

from haul.core.status import Status
from haul.engine.base import Progress, StopReason, StopSignal, Throttle


@dataclass
class LiveJob:
    """A job running in this process."""

    download_id: int
    owner: str
    status: Status = Status.RESOLVING
    progress: Progress | None = None
    stop: StopSignal = field(default_factory=StopSignal)
    task: asyncio.Task[None] | None = None
    title: str | None = None
    #: When bytes last arrived (monotonic clock), for stall detection.
    last_change: float = field(default_factory=time.monotonic)
    #: The engine's notices (:attr:`Progress.notice`) not yet written to the history.
    notices: list[str] = field(default_factory=list)
    #: The speed limits its transfer is under (None: none).
    throttle: Throttle | None = None

    def on_progress(self, progress: Progress) -> None:
        # Called from engine threads: plain attribute stores, read by the worker's loops.
        if progress.notice is not None:
            self.notices.append(progress.notice)
        previous = self.progress
        if previous is None or progress.downloaded_bytes > previous.downloaded_bytes:
            self.last_change = time.monotonic()
        self.progress = progress
        if self.status is Status.RESOLVING:
            self.status = Status.DOWNLOADING

    def idle_for(self, now: float | None = None) -> float:
        """Seconds since the last byte arrived (or since the job started)."""
        return (now if now is not None else time.monotonic()) - self.last_change

    def take_notices(self) -> list[str]:
        """The notices not yet written, handed over once."""
        notices, self.notices = self.notices, []
        return notices


class LiveJobs:
    """The registry of the jobs this process runs, and of those it dropped."""

    def __init__(self) -> None:
        self._jobs: dict[int, LiveJob] = {}
        self._dropped: set[int] = set()

    # -- reading ----------------------------------------------------------------------

    def get(self, download_id: int) -> LiveJob | None:
        return self._jobs.get(download_id)

    def __contains__(self, download_id: object) -> bool:
        return download_id in self._jobs

    def __iter__(self) -> Iterator[LiveJob]:
        """The jobs running now (a copy: the registry may change while it is walked)."""
        return iter(list(self._jobs.values()))

    def __len__(self) -> int:
        return len(self._jobs)

    def ids(self) -> list[int]:
        return list(self._jobs)

    def transferring(self) -> int:
        """Jobs still moving bytes: one being filed (status processing) no longer takes one of
        the worker's transfer slots."""
        return sum(1 for job in self._jobs.values() if job.status is not Status.PROCESSING)

    def downloading(self) -> list[LiveJob]:
        return [job for job in self._jobs.values() if job.status is Status.DOWNLOADING]

    # -- asking jobs to stop ------------------------------------------------------------

    def stop(self, download_id: int, reason: StopReason) -> LiveJob | None:
        """Ask a running job to stop; the job, or None when this process does not run it."""
        job = self._jobs.get(download_id)
        if job is not None:
            job.stop.set(reason)
        return job

    def stop_all(self, reason: StopReason) -> list[LiveJob]:
        jobs = list(self._jobs.values())
        for job in jobs:
            job.stop.set(reason)
        return jobs

    # -- the worker's side --------------------------------------------------------------

    def register(self, download_id: int, owner: str, title: str | None = None) -> LiveJob:
        """A job this process has leased: it runs it now (if it had dropped it, no more)."""
        job = LiveJob(download_id, owner, title=title)
        self._jobs[download_id] = job
        self._dropped.discard(download_id)
        return job

    def end(self, download_id: int) -> None:
        """The job stopped running here (its end recorded, or about to be dropped)."""
        self._jobs.pop(download_id, None)

    def drop(self, download_id: int) -> None:
        """The job stopped without its end recorded: its lease is to be given back."""
        self._jobs.pop(download_id, None)
        self._dropped.add(download_id)

    def unregister(self, download_ids: Collection[int]) -> None:
        """Undo the registration of jobs whose lease may not have been taken (the leasing
        write failed): those not started yet are dropped, their leases given back."""
        for download_id in download_ids:
            job = self._jobs.get(download_id)
            if job is not None and job.task is None:
                self.drop(download_id)

    def take_dropped(self) -> set[int]:
        """The dropped jobs, handed over whole (a job dropped meanwhile lands in the next set)."""
        dropped, self._dropped = self._dropped, set()
        return dropped

    def keep_dropped(self, download_ids: Collection[int]) -> None:
        """Jobs whose leases could not be given back: dropped still, unless running again."""
        self._dropped |= {i for i in download_ids if i not in self._jobs}

    def dropped(self) -> frozenset[int]:
        return frozenset(self._dropped)
