"""One call of a built-in engine with the progress readings it gave kept (engine tests)."""

from __future__ import annotations

from haul.engine.base import EngineJob, EngineResult, Progress, StopSignal
from haul.engine.http import HttpEngine


class Run:
    """One engine call with its progress readings kept."""

    def __init__(self, engine: HttpEngine, job: EngineJob) -> None:
        self.engine, self.job = engine, job
        self.stop = StopSignal()
        self.progress: list[Progress] = []

    async def __call__(self) -> EngineResult:
        return await self.engine.download(self.job, self.progress.append, self.stop)

    def notices(self) -> list[str]:
        """The notices the transfer gave, oldest first."""
        return [p.notice for p in self.progress if p.notice]

    def fetched(self) -> int:
        """The bytes the last progress reading counted."""
        return self.progress[-1].downloaded_bytes if self.progress else 0
