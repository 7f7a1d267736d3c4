"""The yt-dlp engine as an :class:`~haul.engine.base.Engine`: pages and streams.

yt-dlp blocks, so each job runs in a thread, at most ``slots`` at a time, under the address
policy (every connection it makes is checked, redirects and fragments included, SponsorBlock's
server too). yt-dlp itself is imported with the first job, not when haul starts.
"""

from __future__ import annotations

import asyncio

from haul.core.profiles import SPONSORBLOCK_API
from haul.engine.base import EngineJob, EngineResult, ProgressCallback, StopSignal
from haul.errors import TransferStopped
from haul.net import guard


class MediaEngine:
    """Runs :func:`haul.engine.ytdlp.run_download` in a thread, ``slots`` at a time."""

    def __init__(
        self,
        slots: int,
        addresses: guard.AddressPolicy | None = None,
        *,
        sponsorblock_api: str = SPONSORBLOCK_API,
    ) -> None:
        self._slots = asyncio.Semaphore(slots)
        self._addresses = addresses
        self._sponsorblock_api = sponsorblock_api

    async def run(
        self, job: EngineJob, progress: ProgressCallback, stop: StopSignal
    ) -> EngineResult:
        from haul.engine import ytdlp  # loaded with the first page job, not at start

        async with self._slots:
            if stop.is_set():
                raise TransferStopped()
            # through the profile's proxy, the proxy connects: only it is reached from here
            policy = None if job.profile.proxy else self._addresses
            with guard.watch(policy, job.url, links=True):
                return await asyncio.to_thread(
                    ytdlp.run_download,
                    job,
                    progress,
                    stop,
                    sponsorblock_api=self._sponsorblock_api,
                )
