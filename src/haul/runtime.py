"""Wiring: builds database, bus, clients, engines, worker and service from the settings.

``haul serve`` runs a :class:`Runtime` with the API in front of it; ``haul worker`` runs one
without. This is the only place besides the CLI that reads :class:`~haul.settings.Settings`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import select

from haul import __version__
from haul.clients.base import DownloadClient
from haul.clients.builtin.client import BuiltinClient
from haul.clients.directory import ClientDirectory
from haul.core.admission import Limits
from haul.core.config import RuntimeValues
from haul.core.sources import iptv_series_of
from haul.engine import ffmpeg
from haul.engine.context import JobContext, SecretStream
from haul.engine.external import ExternalClients, ExternalConfig
from haul.engine.http import HttpEngine
from haul.engine.jobs import JobRunner
from haul.engine.processing import LibraryConfig, Processor
from haul.engine.worker import Worker, WorkerConfig
from haul.errors import HaulError, PermanentTransferError
from haul.events.bus import EventBus
from haul.iptv.redact import redact_url
from haul.iptv.streams import as_transfer_error, fresh_stream_url
from haul.media.naming import Templates
from haul.media.prober import Prober
from haul.net.guard import AddressPolicy
from haul.net.transport import GuardedTransport
from haul.notify import Notifier, download_summary

if TYPE_CHECKING:
    from haul.events.pg import PgEventBridge
from haul.service import DownloadService
from haul.service.accounts import AccountService
from haul.service.clients import ClientService
from haul.service.config import ConfigService, defaults_from
from haul.service.iptv import IptvService
from haul.service.iptv_downloads import IptvDownloads
from haul.service.links import FileLinks
from haul.service.media import MediaService
from haul.service.notifications import NotificationService
from haul.service.ownership import OwnershipService
from haul.service.profiles import ProfileService
from haul.service.retention import RetentionService
from haul.settings import Settings
from haul.store import clients as client_queries
from haul.store import downloads as download_queries
from haul.store.database import Database
from haul.store.migrate import upgrade_async
from haul.store.models import Download, Profile
from haul.store.sql_jobs import SqlJobStore

log = logging.getLogger(__name__)

DEFAULT_PROFILES: list[dict[str, Any]] = [
    {"name": "default", "is_default": True},
    {
        "name": "best-mp4",
        "format": "bv*[ext=mp4]+ba[ext=m4a]/b[ext=mp4]/bv*+ba/b",
        "container": "mp4",
    },
    {"name": "720p", "format": "bv*[height<=720]+ba/b[height<=720]/b", "container": "mkv"},
    {"name": "audio", "format": "ba/b"},
    {"name": "with-subtitles", "subtitles": ["en", "eng"]},
]


class Runtime:
    def __init__(self, settings: Settings, *, run_worker: bool = True) -> None:
        self.settings = settings
        self.run_worker = run_worker
        self.db = Database(settings.sqlalchemy_url)
        #: The worker's operations on stored jobs.
        self.jobs = SqlJobStore(self.db, worker_id=lambda: self.worker.id)
        self.bus = EventBus()
        #: The runtime settings in effect (limits, retries, retention), editable while running.
        self.config = ConfigService(self.db, defaults_from(settings))
        self.bridge: PgEventBridge | None = None
        if not self.db.is_sqlite:
            from haul.events.pg import PgEventBridge  # psycopg is loaded for PostgreSQL only

            self.bridge = PgEventBridge(
                settings.sqlalchemy_url,
                self.bus,
                on_wake=self._wake_here,
                on_config=self.config.reload_soon,
                on_reconnect=self._caught_up,
            )
            self.config.tell_others = self.bridge.config_changed
        self._observer: asyncio.Task[None] | None = None
        root = settings.downloads_root
        self.builtin = BuiltinClient(root, stall_warning=settings.stall_warning)
        self.directory = ClientDirectory(self.builtin)
        self.clients: dict[str, DownloadClient] = self.directory.clients
        #: Where haul connects for downloads and URLs people give (not to download clients).
        self.addresses = AddressPolicy(allow_private=settings.private_addresses_allowed)
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
            allow_private=settings.private_addresses_allowed,
            wake=self.wake,
            library_root=settings.library_root,
        )
        self.runner = JobRunner(
            JobContext(
                db=self.db,
                jobs=self.jobs,
                builtin=self.builtin,
                http=self.http,
                http_engine=HttpEngine(addresses=self.addresses),
                ytdlp_slots=asyncio.Semaphore(settings.ytdlp_threads),
                retry=self.config.retry_policy(),
                publish=self.service.publish,
                profiles=self.service.engine_profile,
                owner_folder=self.service.owner_folder,
            )
        )
        self.profiles = ProfileService(
            self.db, downloads_root=root, changed=self.service.profiles.forget
        )
        self.accounts = AccountService(
            self.db, session_days=settings.session_days, login_attempts=settings.login_attempts
        )
        self.service.visitor_sites = settings.public_site_list
        self.service.visitor_torrents = settings.public_torrents
        self.client_service = ClientService(self.db, self.directory, reload=self.reload_clients)
        allow_private = settings.private_addresses_allowed
        self.iptv = IptvService(self.db, self.http, allow_private=allow_private)
        #: Completed and imported downloads are told by the processing step, failed ones here.
        self.notifier = Notifier(self.db, self.http, addresses=self.addresses)
        self.notification_service = NotificationService(
            self.db, self.notifier, allow_private=settings.private_addresses_allowed
        )
        self.external = ExternalClients(
            self.db,
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
            worker_id=lambda: self.worker.id,
            iptv=self._iptv_stream,
        )
        self.runner.ctx.handoff = self.external.handoff
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
            worker_id=lambda: self.worker.id,
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
        self.service.media = self.media
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
        self._retainer: asyncio.Task[None] | None = None
        self.links = FileLinks(self.db, self.service)
        self._rescanner: asyncio.Task[None] | None = None
        self.runner.ctx.iptv = self._iptv_stream
        self.runner.ctx.failed = lambda row: self._tell("failed", row)
        self.runner.ctx.completed = lambda row: self._tell("completed", row)
        self.runner.ctx.probe = self.processor.probe_only
        self.runner.ctx.addresses = self.addresses
        self.runner.ctx.processed = self.processor.enqueue
        self.external.processed = self.processor.enqueue
        self.worker = Worker(
            self.jobs,
            self.bus,
            self.builtin,
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
            on_admitted=self._admitted,
            external=self.external,
            refresh_clients=self._refresh,
            processor=self.processor,
        )
        self.config.on_change(self._config_changed)

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

    async def _iptv_stream(self, row: Download) -> SecretStream:
        """A fresh stream of an IPTV download from its provider (see haul.iptv.streams)."""
        if row.iptv_provider_id is None or row.iptv_kind not in ("movie", "episode"):
            raise PermanentTransferError(
                "The IPTV provider of this download was removed.", code="iptv_provider_gone"
            )
        try:
            stream = await fresh_stream_url(
                self.db,
                self.http,
                row.iptv_provider_id,
                "movie" if row.iptv_kind == "movie" else "episode",
                str(row.iptv_ref),
                series_id=iptv_series_of(row.source_url),
            )
        except HaulError as exc:
            raise as_transfer_error(exc) from None
        source = row.source_url

        def clean(text: str) -> str:
            return redact_url(text.replace(stream.url, source))

        return SecretStream(stream.url, stream.filename, clean)

    def _tell(self, kind: str, row: Download) -> None:
        self.notifier.emit(
            kind,
            row.owner_key,
            download_summary(
                id=row.id,
                url=row.source_url,
                status=kind,
                owner=row.owner_key,
                title=row.title,
                error_code=row.last_error_code,
                error_message=row.last_error_message,
                client=row.client,
                media_id=row.media_id,
                files=row.files or [],
            ),
        )

    def limits(self) -> Limits:
        caps = {n: spec.slot_limit for n, spec in self.directory.specs.items() if spec.slot_limit}
        values = self.config.current
        return Limits(values.limit_global, values.limit_per_owner, caps)

    def wake(self) -> None:
        if self.run_worker:
            self.worker.wake()
        if self.bridge is not None:
            self.bridge.wake()

    async def _admitted(self, ids: list[int]) -> None:
        async with self.db.read() as s:
            rows = (await s.scalars(select(Download).where(Download.id.in_(ids)))).all()
        for row in rows:
            await self.service.publish(row)

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
        await self._seed_profiles()
        await self.reload_clients()
        if self.bridge is not None:
            await self.bridge.start()
            self._observer = asyncio.create_task(self._observe(), name="haul-observe")
        if self.run_worker:
            await self.worker.start()
            if self.settings.rescan_interval > 0:
                self._rescanner = asyncio.create_task(self._rescan(), name="haul-rescan")
            if self.settings.retention_interval > 0:
                self._retainer = asyncio.create_task(self._retain(), name="haul-retention")
        log.info("haul %s: database %r, downloads in %s", __version__, self.db, self.builtin.root)
        if self.run_worker and (missing := ffmpeg.missing()):
            log.warning("%s", ffmpeg.missing_sentence(missing))

    async def _seed_profiles(self) -> None:
        """The first start (no profile at all) gets the default profiles; later an
        administrator's removals stay removed."""
        async with self.db.write() as s:
            if await s.scalar(select(Profile.id).limit(1)) is not None:
                return
            for spec in DEFAULT_PROFILES:
                s.add(Profile(**spec))

    def _wake_here(self) -> None:
        if self.run_worker:
            self.worker.wake()

    async def _caught_up(self, since: datetime) -> None:
        """After the event bridge was cut from PostgreSQL (a restart): tell this process's
        subscribers again of the downloads whose state changed meanwhile (their events from
        other processes were lost). Live progress comes back with the next progress events."""
        async with self.db.read() as s:
            ids = await download_queries.changed_since(s, since)
        await self.service.publish_ids(ids, local=False)
        log.info("caught up after the event bridge reconnected: %d downloads told", len(ids))

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
        while True:
            await asyncio.sleep(self.settings.rescan_interval)
            try:
                found = await self.media.rescan()
                log.info("rescan: %d files, %d missing", found.checked, found.missing)
            except Exception:
                log.exception("rescan failed")

    async def _retain(self) -> None:
        """Remove finished downloads kept longer than their age (see haul.service.retention):
        a minute after the start, then every ``retention_interval`` seconds."""
        interval = self.settings.retention_interval
        delay = min(60.0, interval)
        while True:
            await asyncio.sleep(delay)
            delay = interval
            try:
                await self.retention.run()  # it logs what it removed
            except Exception:
                log.exception("retention failed")

    async def stop(self) -> None:
        for task in (self._rescanner, self._retainer):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
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
        await self.runner.ctx.http_engine.aclose()
        await asyncio.to_thread(self.prober.close)
        await self.directory.aclose()
        await self.http.aclose()
        await self.db.dispose()
