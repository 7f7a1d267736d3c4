"""Wiring: builds database, bus, clients, engines, worker and service from the settings.

``haul serve`` runs a :class:`Runtime` with the API in front of it; ``haul worker`` runs one
without. This is the only place besides the CLI that reads :class:`~haul.settings.Settings`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import select

from haul import __version__
from haul.clients.base import DownloadClient
from haul.clients.builtin.client import BuiltinClient
from haul.clients.directory import ClientDirectory
from haul.core.admission import Limits
from haul.core.retry import RetryPolicy
from haul.engine.context import JobContext
from haul.engine.external import ExternalClients, ExternalConfig
from haul.engine.http import HttpEngine
from haul.engine.jobs import JobRunner
from haul.engine.worker import Worker, WorkerConfig
from haul.events.bus import EventBus

if TYPE_CHECKING:
    from haul.events.pg import PgEventBridge
from haul.service import DownloadService
from haul.service.clients import ClientService
from haul.settings import Settings
from haul.store import clients as client_queries
from haul.store.database import Database
from haul.store.db import upgrade_async
from haul.store.models import Download, Profile

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
        self.bus = EventBus()
        self.bridge: PgEventBridge | None = None
        if not self.db.is_sqlite:
            from haul.events.pg import PgEventBridge  # psycopg is loaded for PostgreSQL only

            self.bridge = PgEventBridge(settings.sqlalchemy_url, self.bus, on_wake=self._wake_local)
        self._observer: asyncio.Task[None] | None = None
        root = settings.downloads_root
        self.builtin = BuiltinClient(root, stall_warning=settings.stall_warning)
        self.directory = ClientDirectory(self.builtin)
        self.clients: dict[str, DownloadClient] = self.directory.clients
        self.http = httpx.AsyncClient(
            follow_redirects=True,
            timeout=httpx.Timeout(60.0, connect=15.0),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
            headers={"User-Agent": f"haul/{__version__}"},
        )
        self.service = DownloadService(
            self.db,
            self.bus,
            self.directory,
            limits=self.limits,
            policy=lambda: settings.over_limit,
            allow_private=settings.private_addresses_allowed,
            poke=self.poke,
        )
        self.runner = JobRunner(
            JobContext(
                db=self.db,
                builtin=self.builtin,
                http=self.http,
                http_engine=HttpEngine(),
                ytdlp_slots=asyncio.Semaphore(settings.ytdlp_threads),
                retry=RetryPolicy(
                    max_attempts=settings.retry_max_attempts,
                    base_delay=settings.retry_base_delay,
                    max_delay=settings.retry_max_delay,
                ),
                notify=self.service.publish,
                profiles=self.service.engine_profile,
            )
        )
        self.client_service = ClientService(self.db, self.directory, reload=self.reload_clients)
        self.external = ExternalClients(
            self.db,
            self.directory,
            self.http,
            ExternalConfig(root=root, monitor_interval=settings.monitor_interval),
            notify=self.service.publish,
            fail=self.runner.outcomes.failed,
            worker_id=lambda: self.worker.id,
        )
        self.runner.ctx.handoff = self.external.handoff
        self.worker = Worker(
            self.db,
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
            refresh_clients=self.reload_clients,
        )

    async def reload_clients(self) -> None:
        """Read the configured clients again (after a change, and now and then by workers)."""
        async with self.db.read() as s:
            specs = await client_queries.specs(s)
        await self.directory.apply(specs)

    def limits(self) -> Limits:
        caps = {n: spec.slot_limit for n, spec in self.directory.specs.items() if spec.slot_limit}
        return Limits(self.settings.limit_global, self.settings.limit_per_owner, caps)

    def poke(self) -> None:
        if self.run_worker:
            self.worker.poke()
        if self.bridge is not None:
            self.bridge.wake()

    async def _admitted(self, ids: list[int]) -> None:
        async with self.db.read() as s:
            rows = (await s.scalars(select(Download).where(Download.id.in_(ids)))).all()
        for row in rows:
            await self.service.publish(row)

    async def start(self) -> None:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.builtin.work_root.mkdir(parents=True, exist_ok=True)
        await upgrade_async(self.settings.sqlalchemy_url)
        await self._seed_profiles()
        await self.reload_clients()
        if self.bridge is not None:
            await self.bridge.start()
            self._observer = asyncio.create_task(self._observe(), name="haul-observe")
        if self.run_worker:
            await self.worker.start()
        log.info("haul %s: database %r, downloads in %s", __version__, self.db, self.builtin.root)

    async def _seed_profiles(self) -> None:
        async with self.db.write() as s:
            existing = set((await s.scalars(select(Profile.name))).all())
            for spec in DEFAULT_PROFILES:
                if spec["name"] not in existing:
                    s.add(Profile(**spec))

    def _wake_local(self) -> None:
        if self.run_worker:
            self.worker.poke()

    async def _observe(self) -> None:
        """Feed the built-in client the progress of jobs that other processes run."""
        sub = self.bus.subscribe()
        try:
            async for event in sub:
                self.builtin.observe(event)
        finally:
            sub.close()

    async def stop(self) -> None:
        if self.run_worker:
            await self.worker.stop()
        if self._observer is not None:
            self._observer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._observer
        if self.bridge is not None:
            await self.bridge.stop()
        self.bus.close()
        await self.runner.ctx.http_engine.aclose()
        await self.directory.aclose()
        await self.http.aclose()
        await self.db.dispose()
