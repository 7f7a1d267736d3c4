"""Wiring: builds database, bus, clients, engines, worker and service from the settings.

``haul serve`` runs a :class:`Runtime` with the API in front of it; ``haul worker`` runs one
without. This is the only place besides the CLI that reads :class:`~haul.settings.Settings`.

Parts are made bottom-up, each given what it uses in its constructor. Three pairs need each
other, so one side of each learns of the other once both exist: the runtime settings and the
PostgreSQL event bridge, the download service and the library, a job and the external clients.
The worker's id is read through :meth:`Runtime.worker_id` (the worker is made last).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import httpx

from haul import __version__
from haul.clients.base import DownloadClient
from haul.clients.builtin.client import BuiltinClient
from haul.clients.directory import ClientDirectory
from haul.core.admission import Limits
from haul.core.config import RuntimeValues
from haul.engine import ffmpeg
from haul.engine.http import HttpEngine
from haul.engine.live import LiveJobs
from haul.engine.media import MediaEngine
from haul.events.bus import EventBus
from haul.media.naming import Templates
from haul.media.prober import Prober
from haul.net.guard import AddressPolicy
from haul.net.transport import GuardedTransport
from haul.notify import Notifier
from haul.periodic import Periodic
from haul.service import DownloadService
from haul.service.accounts import AccountService
from haul.service.clients import ClientService
from haul.service.config import ConfigService, defaults_from
from haul.service.iptv import IptvService
from haul.service.iptv_downloads import IptvDownloads, IptvStreamUrls
from haul.service.links import FileLinks
from haul.service.media import MediaService
from haul.service.notifications import NotificationService
from haul.service.ownership import OwnershipService
from haul.service.profiles import ProfileService
from haul.service.retention import RetentionService
from haul.settings import Settings
from haul.store import clients as client_queries
from haul.store.database import Database
from haul.store.migrate import upgrade_async
from haul.store.sql_handoffs import SqlHandoffStore
from haul.store.sql_jobs import SqlJobStore
from haul.worker.context import JobContext
from haul.worker.external import ExternalClients, ExternalConfig
from haul.worker.loops import Worker, WorkerConfig
from haul.worker.processing import LibraryConfig, Processor
from haul.worker.runner import JobRunner

if TYPE_CHECKING:
    from haul.events.pg import PgEventBridge

log = logging.getLogger(__name__)


class Runtime:
    """Everything one haul process runs, and its start and stop."""

    def __init__(self, settings: Settings, *, run_worker: bool = True) -> None:
        self.settings = settings
        self.run_worker = run_worker
        root = settings.downloads_root
        allow_private = settings.private_addresses_allowed
        self.db = Database(settings.sqlalchemy_url)
        #: The worker's operations on stored jobs.
        self.jobs = SqlJobStore(self.db, worker_id=self.worker_id)
        self.bus = EventBus()
        #: The runtime settings in effect (limits, retries, retention), editable while running.
        self.config = ConfigService(self.db, defaults_from(settings))
        #: The transfers this process runs (the worker keeps it; the built-in client reads it).
        self.live = LiveJobs()
        self.builtin = BuiltinClient(root, self.live, stall_warning=settings.stall_warning)
        self.directory = ClientDirectory(self.builtin)
        self.clients: dict[str, DownloadClient] = self.directory.clients
        #: Where haul connects for downloads and URLs people give (not to download clients).
        self.addresses = AddressPolicy(allow_private=allow_private)
        #: For probes, .torrent files, IPTV providers and webhooks: every connection checked.
        self.http = httpx.AsyncClient(
            transport=GuardedTransport(
                self.addresses,
                limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
            ),
            follow_redirects=True,
            timeout=httpx.Timeout(60.0, connect=15.0),
            headers={"User-Agent": f"haul/{__version__}"},
        )
        self.service = DownloadService(
            self.db,
            self.bus,
            self.directory,
            limits=self.limits,
            policy=lambda: self.config.current.over_limit,
            allow_private=allow_private,
            wake=self.wake,
            library_root=settings.library_root,
            visitor_sites=settings.public_site_list,
            visitor_torrents=settings.public_torrents,
        )
        self.bridge: PgEventBridge | None = None
        if not self.db.is_sqlite:
            from haul.events.pg import PgEventBridge  # psycopg is loaded for PostgreSQL only

            self.bridge = PgEventBridge(
                settings.sqlalchemy_url,
                self.bus,
                on_wake=self._wake_here,
                on_config=self.config.reload_soon,
                on_reconnect=self.service.caught_up,
            )
            # The bridge reloads the settings another process changed, and tells the others
            # of a change here: each needs the other, so one of them is told afterwards.
            self.config.tell_others = self.bridge.config_changed
        self._observer: asyncio.Task[None] | None = None
        self.profiles = ProfileService(
            self.db, downloads_root=root, changed=self.service.profiles.forget
        )
        self.accounts = AccountService(
            self.db, session_days=settings.session_days, login_attempts=settings.login_attempts
        )
        self.client_service = ClientService(self.db, self.directory, reload=self.reload_clients)
        self.iptv = IptvService(self.db, self.http, allow_private=allow_private)
        #: Tells webhooks and Apprise targets of completed, failed and imported downloads.
        self.notifier = Notifier(self.db, self.http, addresses=self.addresses)
        self.notification_service = NotificationService(
            self.db, self.notifier, allow_private=allow_private
        )
        #: FFmpeg reads finished files in a child process of its own (haul.media.prober).
        self.prober = Prober()
        self.processor = Processor(
            self.db,
            LibraryConfig(
                downloads_root=root,
                library_root=settings.library_root,
                templates=Templates(
                    movie=settings.movie_template,
                    episode=settings.episode_template,
                    movie_trailer=settings.movie_trailer_template,
                    series_trailer=settings.series_trailer_template,
                ),
            ),
            worker_id=self.worker_id,
            published=self.service.publish_ids,
            notifier=self.notifier,
            poll_interval=settings.heartbeat_interval,
            probe=self.prober.probe,
        )
        self.media = MediaService(
            self.db,
            downloads_root=root,
            library_root=settings.library_root,
            wake=self.processor.wake,
        )
        # Downloads follow the rules of the library items they are linked to, and the library
        # wakes the processing step that tells downloads: the download service learns of the
        # library once both exist.
        self.service.media = self.media
        self.iptv_streams = IptvStreamUrls(self.db, self.http)
        self.direct = HttpEngine(addresses=self.addresses)
        self.runner = JobRunner(
            JobContext(
                jobs=self.jobs,
                builtin=self.builtin,
                live=self.live,
                direct=self.direct,
                media=MediaEngine(settings.ytdlp_threads, self.addresses),
                retry=self.config.retry_policy(),
                publish=self.service.publish,
                profiles=self.service.engine_profile,
                owner_folder=self.service.owner_folder,
                processed=self.processor.enqueue,
                iptv=self.iptv_streams.fresh,
                failed=lambda row: self.notifier.emit_ended("failed", row),
                completed=lambda row: self.notifier.emit_ended("completed", row),
                probe=self.processor.probe_only,
                addresses=self.addresses,
            )
        )
        self.external = ExternalClients(
            SqlHandoffStore(self.db),
            self.directory,
            self.http,
            ExternalConfig(
                root=root,
                monitor_interval=settings.monitor_interval,
                addresses=self.addresses,
                visitor_torrents=settings.public_torrents,
                owner_folder=self.service.owner_folder,
            ),
            publish=self.service.publish,
            fail=self.runner.outcomes.failed,
            worker_id=self.worker_id,
            processed=self.processor.enqueue,
            iptv=self.iptv_streams.fresh,
        )
        # A job hands a resolved source over to the external clients, which record a failed
        # hand-over as the job's outcome: each needs the other, so the job learns of them here.
        self.runner.ctx.handoff = self.external.handoff
        #: What accounts own, deleted or handed over with them.
        self.ownership = OwnershipService(self.db, self.accounts, self.service, self.media)
        self.iptv_downloads = IptvDownloads(self.iptv, self.media, self.service)
        #: Removes finished downloads past their age (the ages in effect: runtime settings).
        self.retention = RetentionService(
            self.db,
            self.bus,
            ages=self.config.retention_ages,
            directory=self.directory,
            downloads_root=root,
            library_root=settings.library_root,
            work_root=self.builtin.work_root,
        )
        self.links = FileLinks(self.db, self.service)
        self.worker = Worker(
            self.jobs,
            self.bus,
            self.builtin,
            self.live,
            self.runner,
            self.limits,
            WorkerConfig(
                concurrency=settings.worker_concurrency,
                heartbeat_interval=settings.heartbeat_interval,
                lease_ttl=settings.lease_ttl,
                progress_interval=settings.progress_interval,
                stall_timeout=settings.stall_timeout,
                reconcile_interval=settings.reconcile_interval,
            ),
            on_admitted=self.service.publish_each,
            external=self.external,
            refresh_clients=self._refresh,
            processor=self.processor,
        )
        #: The background jobs of a worker process (started with the worker).
        self.periodic: list[Periodic] = []
        if settings.rescan_interval > 0:
            self.periodic.append(Periodic("rescan", self._rescan, settings.rescan_interval))
        if settings.retention_interval > 0:
            interval = settings.retention_interval
            # A minute after the start, then every interval; it logs what it removed.
            first = min(60.0, interval)
            self.periodic.append(
                Periodic("retention", self.retention.run, interval, first_delay=first)
            )
        self.config.on_change(self._config_changed)

    def worker_id(self) -> str:
        """The id of this process's worker (it holds the leases of the jobs run here)."""
        return self.worker.id

    async def reload_clients(self) -> None:
        """Read the configured clients again (after a change, and now and then by workers)."""
        async with self.db.read() as s:
            specs = await client_queries.specs(s)
        await self.directory.apply(specs)

    async def _refresh(self) -> None:
        """What a worker re-reads now and then: clients and runtime settings (another process
        may have changed them and its notification may not have arrived)."""
        await self.reload_clients()
        await self.config.reload()

    def _config_changed(self, old: RuntimeValues, new: RuntimeValues) -> None:
        """Make the consumers follow a change of the runtime settings."""
        retry = ("retry_max_attempts", "retry_base_delay", "retry_max_delay")
        if any(getattr(old, key) != getattr(new, key) for key in retry):
            self.runner.ctx.retry = self.config.retry_policy()  # the next failure uses it
        limits = ("limit_global", "limit_per_owner")
        if any(getattr(old, key) != getattr(new, key) for key in limits):
            self._wake_here()  # a raised limit admits what waits at once

    def limits(self) -> Limits:
        caps = {n: spec.slot_limit for n, spec in self.directory.specs.items() if spec.slot_limit}
        values = self.config.current
        return Limits(values.limit_global, values.limit_per_owner, caps)

    def wake(self) -> None:
        if self.run_worker:
            self.worker.wake()
        if self.bridge is not None:
            self.bridge.wake()

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
                await self.http.aclose()
                await self.db.dispose()
                raise
        await self.config.reload()
        await self.profiles.seed_defaults()
        await self.reload_clients()
        if self.bridge is not None:
            await self.bridge.start()
            self._observer = asyncio.create_task(self._observe(), name="haul-observe")
        if self.run_worker:
            await self.worker.start()
            for job in self.periodic:
                job.start()
        log.info("haul %s: database %r, downloads in %s", __version__, self.db, self.builtin.root)
        if self.run_worker and (missing := ffmpeg.missing()):
            log.warning("%s", ffmpeg.missing_sentence(missing))

    def _wake_here(self) -> None:
        if self.run_worker:
            self.worker.wake()

    async def _observe(self) -> None:
        """Feed the built-in client the progress of jobs that other processes run."""
        sub = self.bus.subscribe()
        try:
            async for event in sub:
                self.builtin.observe(event)
        finally:
            sub.close()

    async def _rescan(self) -> None:
        """Keep ``file_exists`` of the recorded files true (a person may delete or move them)."""
        found = await self.media.rescan()
        log.info("rescan: %d files, %d missing", found.checked, found.missing)

    async def stop(self) -> None:
        for job in self.periodic:
            await job.stop()
        if self.run_worker:
            await self.worker.stop()
        if self._observer is not None:
            self._observer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._observer
        if self.bridge is not None:
            await self.bridge.stop()
        await self.config.aclose()
        self.bus.close()
        await self.notifier.aclose(grace=2.0)  # the last completions may still be on their way
        await self.direct.aclose()
        await asyncio.to_thread(self.prober.close)
        await self.directory.aclose()
        await self.http.aclose()
        await self.db.dispose()
