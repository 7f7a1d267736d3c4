"""A scripted :class:`~haul.engine.base.Engine` for tests of the worker, shipped with haul.

Each URL gets a :class:`Script`: how many bytes to write (in how many steps), whether to wait
at a gate (so a test can pause or cancel a running job), and an error to raise at the end
instead of finishing. A job with an ``accept`` is asked first, as the HTTP engine asks it,
with an answer of the script's type and size; a declined answer writes nothing. A URL with
no script writes one small file. The engine keeps the jobs it was given, in order, so a test
can check what ran and with which profile.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from haul.engine.base import EngineJob, EngineResult, Progress, ProgressCallback, StopSignal
from haul.errors import TransferError, TransferStopped


@dataclass
class Script:
    """What :class:`FakeEngine` does with one URL."""

    size: int = 1024
    steps: int = 1
    filename: str = "file.bin"
    #: The media type of the answer a job's ``accept`` is shown (a page's is declined).
    content_type: str = "application/octet-stream"
    title: str | None = None
    #: Raised once the bytes are written (and the gate passed), instead of finishing.
    error: TransferError | None = None
    #: Set by the test to let the job go on; None: the job does not wait.
    gate: asyncio.Event | None = None
    #: Returned as-is instead of a result: the job's ``accept`` would have declined it.
    declined: bool = False


@dataclass
class FakeEngine:
    scripts: dict[str, Script] = field(default_factory=dict)
    #: The jobs run so far, in order.
    jobs: list[EngineJob] = field(default_factory=list)
    #: Jobs running now (between their start and their end).
    running: set[int] = field(default_factory=set)

    async def run(
        self, job: EngineJob, progress: ProgressCallback, stop: StopSignal
    ) -> EngineResult | None:
        script = self.scripts.get(job.url, Script())
        self.jobs.append(job)
        self.running.add(job.download_id)
        try:
            return await self._run(job, script, progress, stop)
        finally:
            self.running.discard(job.download_id)

    async def _run(
        self, job: EngineJob, script: Script, progress: ProgressCallback, stop: StopSignal
    ) -> EngineResult | None:
        if script.declined:
            return None
        if job.accept is not None:
            headers = {"content-type": script.content_type, "content-length": str(script.size)}
            if not await job.accept(job.url, 200, headers):
                return None
        job.dest_dir.mkdir(parents=True, exist_ok=True)
        path = job.dest_dir / (job.filename or script.filename)
        step = max(1, script.size // max(1, script.steps))
        written = 0
        with path.open("wb") as out:
            while written < script.size:
                if stop.is_set():
                    raise TransferStopped(f"Stopped ({stop.reason}).")
                chunk = min(step, script.size - written)
                out.write(b"\0" * chunk)
                written += chunk
                progress(Progress(written, script.size, filename=path.name))
                await asyncio.sleep(0)
        while script.gate is not None and not script.gate.is_set():
            if stop.is_set():
                raise TransferStopped(f"Stopped ({stop.reason}).")
            await asyncio.sleep(0.01)
        if script.error is not None:
            raise script.error
        return EngineResult(files=(path,), title=script.title)
