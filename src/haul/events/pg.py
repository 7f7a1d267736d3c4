"""Events between processes over PostgreSQL LISTEN/NOTIFY (no other service needed).

Every process forwards the events it publishes itself to the ``haul_events`` channel and
replays the ones other processes sent into its own bus, so an API process shows the live
progress of a transfer a worker on another machine runs. ``haul_wake`` tells workers that the
queue changed (a submit, a resume) so they need not wait for their next poll. ``haul_config``
tells every process that an administrator changed a runtime setting (it reloads them).

NOTIFY payloads are limited to 8000 bytes: progress events are small; a status event whose
download is too large to send whole travels without its file list.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from haul.events.bus import Event, EventBus

log = logging.getLogger(__name__)

EVENTS_CHANNEL = "haul_events"
WAKE_CHANNEL = "haul_wake"
CONFIG_CHANNEL = "haul_config"
MAX_PAYLOAD = 7900


def libpq_url(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL in the form libpq (psycopg) accepts."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def encode(event: Event, origin: str) -> str:
    body = {"o": origin, "t": event.type, "i": event.download_id, "w": event.owner, "d": event.data}
    payload = json.dumps(body, separators=(",", ":"), default=str)
    if len(payload.encode()) > MAX_PAYLOAD and isinstance(event.data.get("download"), dict):
        slim = {**event.data["download"], "files": [], "files_omitted": True}
        body["d"] = {**event.data, "download": slim}
        payload = json.dumps(body, separators=(",", ":"), default=str)
    return payload


class PgEventBridge:
    def __init__(
        self,
        url: str,
        bus: EventBus,
        *,
        on_wake: Callable[[], None],
        on_config: Callable[[], None] | None = None,
    ) -> None:
        self.url = libpq_url(url)
        self.bus = bus
        self.on_wake = on_wake
        self.on_config = on_config
        self.origin = uuid.uuid4().hex[:12]
        self._outbox: asyncio.Queue[tuple[str, str]] = asyncio.Queue(maxsize=10_000)
        self._tasks: list[asyncio.Task[None]] = []
        self._listener: psycopg.AsyncConnection[Any] | None = None
        self._sender: psycopg.AsyncConnection[Any] | None = None

    async def start(self) -> None:
        """Open both connections and listen; on any failure (or a cancellation) closes what it
        opened before raising, so a start that does not finish leaves no connection behind."""
        try:
            self._listener = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
            self._sender = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
            await self._listener.execute(f"LISTEN {EVENTS_CHANNEL}")
            await self._listener.execute(f"LISTEN {WAKE_CHANNEL}")
            await self._listener.execute(f"LISTEN {CONFIG_CHANNEL}")
        except BaseException:
            await asyncio.shield(self._close_connections())
            raise
        self.bus.forward = self._forward
        self._tasks = [
            asyncio.create_task(self._listen(), name="haul-pg-listen"),
            asyncio.create_task(self._send(), name="haul-pg-send"),
        ]

    def _forward(self, event: Event) -> None:
        try:
            self._outbox.put_nowait((EVENTS_CHANNEL, encode(event, self.origin)))
        except asyncio.QueueFull:
            log.warning(
                "event outbox full; dropping %s of download %s", event.type, event.download_id
            )

    def wake(self) -> None:
        """Tell every worker the queue changed."""
        with contextlib.suppress(asyncio.QueueFull):
            self._outbox.put_nowait((WAKE_CHANNEL, self.origin))

    def config_changed(self) -> None:
        """Tell every other process that the runtime settings changed."""
        with contextlib.suppress(asyncio.QueueFull):
            self._outbox.put_nowait((CONFIG_CHANNEL, self.origin))

    async def _send(self) -> None:
        assert self._sender is not None
        while True:
            channel, payload = await self._outbox.get()
            try:
                await self._sender.execute("SELECT pg_notify(%s, %s)", (channel, payload))
            except psycopg.Error as exc:
                log.warning("could not forward an event: %s", exc)
            finally:
                self._outbox.task_done()

    async def _listen(self) -> None:
        assert self._listener is not None
        async for note in self._listener.notifies():
            if note.channel == WAKE_CHANNEL:
                if note.payload != self.origin:
                    self.on_wake()
                continue
            if note.channel == CONFIG_CHANNEL:
                if note.payload != self.origin and self.on_config is not None:
                    self.on_config()
                continue
            try:
                body = json.loads(note.payload)
            except ValueError:
                continue
            if body.get("o") == self.origin:
                continue
            self.bus.publish(body["t"], int(body["i"]), str(body["w"]), local=False, **body["d"])

    async def stop(self, flush_timeout: float = 2.0) -> None:
        self.bus.forward = None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._outbox.join(), flush_timeout)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, psycopg.Error):
                await task
        self._tasks = []
        await self._close_connections()

    async def _close_connections(self) -> None:
        conns, self._listener, self._sender = (self._listener, self._sender), None, None
        for conn in conns:
            if conn is not None:
                await conn.close()
