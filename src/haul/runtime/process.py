"""The parts of one haul process, and how they start and stop together.

:class:`Runtime` is made by :func:`haul.runtime.build` with every part already made and
connected; it only starts and stops them. Its public attributes are the parts the web app
hands to routes (see :mod:`haul.web.deps`); :meth:`Runtime.wake`, :meth:`Runtime.limits`,
:meth:`Runtime.runs`, :meth:`Runtime.schedule_now` and :meth:`Runtime.reload_clients` are
what a route, the CLI or a test asks of the process as a whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx

from haul import __version__
from haul.clients.builtin.client import BuiltinClient
from haul.clients.directory import ClientDirectory
from haul.core.admission import Limits
from haul.engine import ffmpeg
from haul.engine.http import HttpEngine
from haul.engine.live import LiveJobs
from haul.events.bus import EventBus
from haul.media.prober import Prober
from haul.notify import Notifier
from haul.periodic import Periodic
from haul.runtime.wakeups import Wakeups
from haul.service import DownloadService
from haul.service.accounts import AccountService
from haul.service.clients import ClientService
from haul.service.config import ConfigService
from haul.service.cookies import CookieService
from haul.service.formats import FormatService
from haul.service.iptv import IptvService
from haul.service.iptv_downloads import IptvDownloads
from haul.service.links import FileLinks
from haul.service.media import MediaService
from haul.service.notifications import NotificationService
from haul.service.ownership import OwnershipService
from haul.service.profiles import ProfileService
from haul.service.retention import RetentionService
from haul.service.subscriptions import SubscriptionService
from haul.service.thumbnails import ThumbnailCache
from haul.settings import Settings
from haul.store import clients as client_queries
from haul.store.database import Database
from haul.store.migrate import upgrade_async
from haul.worker.loops import Worker
from haul.worker.subscriptions import Checker

if TYPE_CHECKING:
    from haul.events.pg import PgEventBridge

log = logging.getLogger("haul.runtime")  # the name its log lines have always carried


async def read_clients(db: Database, directory: ClientDirectory) -> None:
    """Read the configured clients into ``directory``."""
    async with db.read() as s:
        specs = await client_queries.specs(s)
    await directory.apply(specs)


@dataclass(kw_only=True, eq=False)
class Runtime:
    """Everything one haul process runs, and its start and stop."""

    settings: Settings
    #: Whether transfers run in this process (``haul serve`` without a separate worker).
    run_worker: bool
    db: Database
    bus: EventBus
    #: The runtime settings in effect (limits, retries, retention), editable while running.
    config: ConfigService
    #: The transfers this process runs (the worker keeps it; the built-in client reads it).
    live: LiveJobs
    builtin: BuiltinClient
    directory: ClientDirectory
    #: For probes, .torrent files, IPTV providers and webhooks: every connection checked.
    http: httpx.AsyncClient
    #: Moves direct files (closed with the process).
    direct: HttpEngine
    #: FFmpeg reads finished files in a child process of its own (haul.media.prober).
    prober: Prober
    #: Tells webhooks and Apprise targets of completed, failed and imported downloads.
    notifier: Notifier
    service: DownloadService
    media: MediaService
    profiles: ProfileService
    accounts: AccountService
    client_service: ClientService
    iptv: IptvService
    iptv_downloads: IptvDownloads
    notification_service: NotificationService
    #: What accounts own, deleted or handed over with them.
    ownership: OwnershipService
    #: Owners' site cookies, sealed with the key file of the data folder.
    cookies: CookieService
    #: Lists the formats a page offers (yt-dlp, under the address policy, limited per owner).
    formats: FormatService
    #: Removes finished downloads past their age (the ages in effect: runtime settings).
    retention: RetentionService
    links: FileLinks
    #: Thumbnails of downloads and library items, kept under the data folder.
    thumbnails: ThumbnailCache
    #: Admits, claims and runs jobs; started only when ``run_worker``.
    worker: Worker
    #: Subscriptions: what every interface asks, and the checks this process runs.
    subscriptions: SubscriptionService
    #: Checks due subscriptions (a periodic job of a worker process; "check now").
    checker: Checker
    #: Events between processes on PostgreSQL (None on SQLite: one process only).
    bridge: PgEventBridge | None = None
    #: The background jobs of a worker process (started with the worker).
    periodic: list[Periodic] = field(default_factory=list)
    #: Admission limits in effect (global, per owner, per client).
    limits_in_effect: Callable[[], Limits]
    #: Where "look at the queue now" goes (this process's worker, the other processes').
    wakeups: Wakeups
    _observer: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    # -- what the process as a whole answers ---------------------------------------------

    def limits(self) -> Limits:
        """The admission limits in effect: the runtime settings' and each client's slots."""
        return self.limits_in_effect()

    def wake(self) -> None:
        """The queue changed: look at it now, here and in every other worker."""
        self.wakeups.everywhere()

    async def schedule_now(self) -> None:
        """Run one whole admission pass of this process's worker now (what a wake-up leads
        to) and return when it is done: what waits and fits the limits is admitted."""
        await self.worker.schedule()

    def runs(self, download_id: int) -> bool:
        """Whether a transfer of this download runs in this process now."""
        return download_id in self.live

    async def reload_clients(self) -> None:
        """Read the configured clients again (after a change, and now and then by workers)."""
        await read_clients(self.db, self.directory)

    # -- start and stop ------------------------------------------------------------------

    async def start(self, check: Callable[[], Awaitable[None]] | None = None) -> None:
        """Start; ``check`` runs once the database is current and before anything else starts
        (the web app's refusal to open an instance without a login to the network)."""
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.builtin.work_root.mkdir(parents=True, exist_ok=True)
        await upgrade_async(self.settings.sqlalchemy_url)
        if check is not None:
            try:
                await check()
            except BaseException:
                await self._release()
                raise
        await self.config.reload()
        await self.profiles.seed_defaults()
        await self.reload_clients()
        if self.bridge is not None:
            from haul.events.pg import Listeners

            await self.bridge.start(
                Listeners(
                    on_wake=self.wakeups.here,
                    on_config=self._changed_elsewhere,
                    on_reconnect=self.service.caught_up,
                )
            )
            self._observer = asyncio.create_task(self._observe(), name="haul-observe")
        if self.run_worker:
            await self.worker.start()
            for job in self.periodic:
                job.start()
        log.info("haul %s: database %r, downloads in %s", __version__, self.db, self.builtin.root)
        if self.run_worker and (missing := ffmpeg.missing()):
            log.warning("%s", ffmpeg.missing_sentence(missing))

    def _changed_elsewhere(self) -> None:
        """Another process changed the runtime settings or someone's site cookies (or this
        one reconnected and missed what changed): read both again."""
        self.config.reload_soon()
        self.cookies.forget()

    async def _observe(self) -> None:
        """Feed the built-in client the progress of jobs that other processes run."""
        sub = self.bus.subscribe()
        try:
            async for event in sub:
                self.builtin.observe(event)
        finally:
            sub.close()

    async def stop(self) -> None:
        """Stop what runs, then release what is held. Every step runs even when one before it
        failed (a connection left open outlives the process's tests and its database); the
        first failure is raised at the end."""
        steps: list[Callable[[], Awaitable[None]]] = [job.stop for job in self.periodic]
        if self.run_worker:
            steps.append(self.checker.stop)
            steps.append(self.worker.stop)
        steps.append(self._stop_observer)
        if self.bridge is not None:
            steps.append(self.bridge.stop)
        await _all_of(steps)
        await self._release()

    async def _stop_observer(self) -> None:
        if self._observer is not None:
            self._observer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._observer

    async def _release(self) -> None:
        """Close the connections, files and threads the parts hold (nothing runs any more)."""
        self.bus.close()

        async def notifier() -> None:
            await self.notifier.aclose(grace=2.0)  # the last completions may be on their way

        async def prober() -> None:
            await asyncio.to_thread(self.prober.close)

        await _all_of(
            [
                self.config.aclose,
                notifier,
                self.direct.aclose,
                prober,
                self.directory.aclose,
                self.http.aclose,
                self.db.dispose,
            ]
        )


async def _all_of(steps: list[Callable[[], Awaitable[None]]]) -> None:
    """Run each step in turn, all of them; raise the first failure once all have run."""
    first: BaseException | None = None
    for step in steps:
        try:
            await step()
        except Exception as exc:
            log.exception("stopping: %s failed", getattr(step, "__qualname__", step))
            first = first or exc
    if first is not None:
        raise first
