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
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import make_url

from haul.events.bus import Event, EventBus

log = logging.getLogger(__name__)

EVENTS_CHANNEL = "haul_events"
WAKE_CHANNEL = "haul_wake"
CONFIG_CHANNEL = "haul_config"
MAX_PAYLOAD = 7900
#: Reconnection backoff after PostgreSQL went away (seconds): doubling, capped.
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 10.0
#: How far before a loss was noticed to look for changes (clocks of processes differ a bit,
#: and a connection may be dead a moment before its failure shows).
CLOCK_SLACK = timedelta(seconds=30)
#: TCP keepalives, so a connection whose server vanished without closing it (a network cut)
#: fails within about a minute instead of listening to nothing for ever.
KEEPALIVES = {
    "keepalives": "1",
    "keepalives_idle": "30",
    "keepalives_interval": "10",
    "keepalives_count": "3",
}


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


@dataclass(frozen=True, slots=True)
class Listeners:
    """What this process does when another process tells it something: ``on_wake`` (the
    queue changed), ``on_config`` (the runtime settings changed), ``on_reconnect`` (the
    bridge is back after losing PostgreSQL, with the time it was lost)."""

    on_wake: Callable[[], None] = lambda: None
    on_config: Callable[[], None] | None = None
    on_reconnect: Callable[[datetime], Awaitable[None]] | None = None


class PgEventBridge:
    """Both directions of the bridge, over two connections (one listens, one sends).

    The sending side works from construction (:meth:`wake`, :meth:`config_changed` and the
    events the bus forwards wait in the outbox), so the parts that tell other processes
    something can be given it when they are made; whom to tell of what arrives is given to
    :meth:`start`, when listening begins (those parts are usually made after the ones that
    send, and nothing arrives before the start).

    A connection lost (PostgreSQL restarted, a network cut) is opened again with backoff
    (:data:`BACKOFF_FIRST` doubling up to :data:`BACKOFF_MAX`, with jitter) for as long as the
    process runs; notifications sent meanwhile never arrive, so after reconnecting the bridge
    calls its :class:`Listeners` (``on_reconnect`` with the time the connection was lost: the
    owner re-reads what changed since). While disconnected, progress events are
    not queued (a newer one supersedes each); other events wait in the outbox and are sent
    once connected again.
    """

    def __init__(
        self,
        url: str,
        bus: EventBus,
    ) -> None:
        self.url = libpq_url(url)
        self.conninfo = make_conninfo(self.url, **KEEPALIVES)
        self.bus = bus
        self.listeners = Listeners()
        self.origin = uuid.uuid4().hex[:12]
        self._outbox: asyncio.Queue[tuple[str, str]] = asyncio.Queue(maxsize=10_000)
        self._tasks: list[asyncio.Task[None]] = []
        self._listener: psycopg.AsyncConnection[Any] | None = None
        self._sender: psycopg.AsyncConnection[Any] | None = None
        #: Set while both connections are open; cleared from a failure to the reconnection.
        self._up = asyncio.Event()
        #: Set by the sender when its connection broke (the listener may not notice at once).
        self._broken = asyncio.Event()
        #: How many times the bridge connected again after losing PostgreSQL.
        self.reconnections = 0

    async def start(self, listeners: Listeners | None = None) -> None:
        """Open both connections and listen, telling ``listeners`` what arrives (a failure
        here is raised: haul does not start without its database); after that the bridge keeps
        itself connected."""
        if listeners is not None:
            self.listeners = listeners
        await self._connect()
        self.bus.forward = self._forward
        self._tasks = [
            asyncio.create_task(self._run(), name="haul-pg-listen"),
            asyncio.create_task(self._send(), name="haul-pg-send"),
        ]

    async def _connect(self) -> None:
        """Open both connections and listen; on any failure (or a cancellation) closes what it
        opened before raising, so a start that does not finish leaves no connection behind."""
        try:
            self._listener = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
            self._sender = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
            await self._listener.execute(f"LISTEN {EVENTS_CHANNEL}")
            await self._listener.execute(f"LISTEN {WAKE_CHANNEL}")
            await self._listener.execute(f"LISTEN {CONFIG_CHANNEL}")
        except BaseException:
            await asyncio.shield(self._close_connections())
            raise
        self._broken.clear()
        self._up.set()

    def _forward(self, event: Event) -> None:
        if event.type == "progress" and not self._up.is_set():
            return  # superseded by the next one, sent once connected again
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
        """Tell every other process that the runtime settings (or site cookies) changed."""
        with contextlib.suppress(asyncio.QueueFull):
            self._outbox.put_nowait((CONFIG_CHANNEL, self.origin))

    async def _send(self) -> None:
        while True:
            channel, payload = await self._outbox.get()
            try:
                await self._up.wait()
                sender = self._sender
                assert sender is not None
                await sender.execute("SELECT pg_notify(%s, %s)", (channel, payload))
            except (psycopg.Error, OSError) as exc:
                log.debug("could not forward an event: %s", exc)
                if self._sender is None or self._sender.broken or self._sender.closed:
                    self._broken.set()
            finally:
                self._outbox.task_done()

    async def _run(self) -> None:
        """Listen; when a connection is lost, connect again and catch up, for ever."""
        while True:
            reason = await self._listen_until_lost()
            lost_at = datetime.now(UTC) - CLOCK_SLACK
            self._up.clear()
            log.warning("events between processes stopped (%s); reconnecting", reason)
            await self._close_connections()
            await self._reconnect()
            self.reconnections += 1
            log.warning("events between processes flow again (reconnected to PostgreSQL)")
            await self._catch_up(lost_at)

    async def _listen_until_lost(self) -> str:
        """Relay notifications until a connection fails; says why it stopped."""
        listening = asyncio.create_task(self._listen())
        broken = asyncio.create_task(self._broken.wait())
        try:
            await asyncio.wait({listening, broken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (listening, broken):
                task.cancel()
            outcome = (await asyncio.gather(listening, broken, return_exceptions=True))[0]
        if isinstance(outcome, asyncio.CancelledError):
            return "the sending connection broke"
        if isinstance(outcome, BaseException):
            return str(outcome).strip() or type(outcome).__name__
        return "the listening connection closed"

    async def _listen(self) -> None:
        listener = self._listener
        assert listener is not None
        async for note in listener.notifies():
            self._relay(note.channel, note.payload)

    def _relay(self, channel: str, payload: str) -> None:
        if channel == WAKE_CHANNEL:
            if payload != self.origin:
                self.listeners.on_wake()
            return
        if channel == CONFIG_CHANNEL:
            if payload != self.origin and self.listeners.on_config is not None:
                self.listeners.on_config()
            return
        try:
            body = json.loads(payload)
        except ValueError:
            return
        if body.get("o") == self.origin:
            return
        self.bus.publish(body["t"], int(body["i"]), str(body["w"]), local=False, **body["d"])

    async def _reconnect(self) -> None:
        delay = BACKOFF_FIRST
        while True:
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            try:
                await self._connect()
                return
            except (psycopg.Error, OSError) as exc:
                log.debug("PostgreSQL not back yet: %s", exc)
            delay = min(BACKOFF_MAX, delay * 2)

    async def _catch_up(self, lost_at: datetime) -> None:
        """What other processes said while the bridge was away never arrives: assume the
        queue and the settings changed, and let the owner re-read what it shows."""
        told = self.listeners
        told.on_wake()
        if told.on_config is not None:
            told.on_config()
        if told.on_reconnect is not None:
            try:
                await told.on_reconnect(lost_at)
            except Exception:
                log.exception("catching up after reconnecting failed")

    async def stop(self, flush_timeout: float = 2.0) -> None:
        self.bus.forward = None
        if self._up.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outbox.join(), flush_timeout)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, psycopg.Error):
                await task
        self._tasks = []
        self._up.clear()
        await self._close_connections()

    async def _close_connections(self) -> None:
        conns, self._listener, self._sender = (self._listener, self._sender), None, None
        for conn in conns:
            if conn is not None:
                with contextlib.suppress(psycopg.Error, OSError):
                    await conn.close()
