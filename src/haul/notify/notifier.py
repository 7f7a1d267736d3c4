"""The integration point: ``emit`` an event, and every target that wants it hears about it.

:meth:`Notifier.emit` is called by the worker at the moment a download completes, fails or is
imported. It returns at once and never raises: reading the targets and every delivery run in
tasks of their own, one per target, each retried with backoff (:mod:`haul.notify.delivery`).
A slow or dead receiver therefore never slows a worker, and one target never delays another.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import random
from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from haul.net import guard
from haul.notify import payload
from haul.notify.backoff import Backoff
from haul.notify.delivery import (
    Attempt,
    Message,
    Outcome,
    deliver,
    post_webhook,
    send_apprise,
)
from haul.notify.kinds import EVENT_KINDS, TEST_EVENT
from haul.notify.targets import Target
from haul.store import notifications as nq
from haul.store.database import Database
from haul.store.kept import Kept

log = logging.getLogger(__name__)


class Notifier:
    def __init__(
        self,
        db: Database,
        http: httpx.AsyncClient,
        *,
        backoff: Backoff | None = None,
        timeout: float = 10.0,
        apprise_threads: int = 4,
        rng: random.Random | None = None,
        addresses: guard.AddressPolicy | None = None,
    ) -> None:
        self.db = db
        #: Webhooks go through it: its transport checks where it connects (haul.net.transport).
        self.http = http
        #: Where Apprise may connect (checked in its threads, haul.net.guard); None: anywhere.
        self.addresses = addresses
        self.backoff = backoff or Backoff()
        self.timeout = timeout
        self.rng = rng
        self._apprise_threads = apprise_threads
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        #: Every enabled target; every completion reads them (see haul.store.kept).
        self.targets = Kept(self._enabled_targets)

    # -- the integration point ----------------------------------------------------------

    def emit(self, kind: str, owner_key: str, download: Mapping[str, Any]) -> None:
        """Tell the targets of ``owner_key`` (and the global ones) subscribed to ``kind``
        about ``download`` (a :class:`~haul.notify.payload.DownloadSummary`). Call it on
        the event loop (from async code); it returns at once and never raises."""
        try:
            if self._closed:
                return
            if kind not in EVENT_KINDS:
                log.warning("not a notification event kind: %r (ignored)", kind)
                return
            summary = dict(download)
            summary.setdefault("owner", owner_key)
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                log.warning("a %s notification was emitted outside the event loop; dropped", kind)
                return
            self._spawn(self._dispatch(kind, owner_key, summary), f"notify-{kind}")
        except Exception:
            log.exception("could not schedule a %s notification", kind)

    def emit_ended(self, kind: str, row: payload.StoredDownload) -> None:
        """Tell that the recorded download ``row`` ended as ``kind`` (``completed``,
        ``failed``): :meth:`emit` of its summary to its owner's targets."""
        self.emit(kind, row.owner_key, payload.summary_of(row, kind))

    async def test(self, target: Target) -> Outcome:
        """Send a test event to ``target`` now, once (no retries: a person is waiting)."""
        message = self._message(TEST_EVENT, None)
        return await deliver(
            lambda: self._attempt(target, message), Backoff(attempts=1), label=target.where
        )

    # -- for tests and shutdown ----------------------------------------------------------

    def pending(self) -> int:
        """Dispatches and deliveries not finished yet."""
        return sum(1 for task in self._tasks if not task.done())

    async def drain(self, timeout: float = 30.0) -> bool:
        """Wait until nothing is pending (True), or ``timeout`` seconds (False)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            waiting = [task for task in self._tasks if not task.done()]
            if not waiting:
                return True
            left = deadline - loop.time()
            if left <= 0:
                return False
            await asyncio.wait(waiting, timeout=left)

    async def aclose(self, grace: float = 0.0) -> None:
        """Stop: let deliveries finish for up to ``grace`` seconds, then cancel the rest."""
        self._closed = True
        if grace > 0:
            await self.drain(grace)
        tasks = [task for task in self._tasks if not task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
            log.info("notifications: %d delivery task(s) canceled at shutdown", len(tasks))
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    # -- inside ------------------------------------------------------------------------

    async def _enabled_targets(self) -> list[Target]:
        async with self.db.read() as session:
            return [Target.from_row(row) for row in await nq.enabled(session)]

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _dispatch(self, kind: str, owner_key: str, summary: dict[str, Any]) -> None:
        try:
            targets = await self.targets.get()
        except Exception:
            log.exception("could not read the notification targets for a %s event", kind)
            return
        for target in targets:
            mine = target.owner_key in (None, owner_key)
            if not mine or kind not in target.events or self._closed:
                continue
            try:
                message = self._message(kind, summary)
            except (TypeError, ValueError):
                log.exception("a %s notification could not be written as JSON", kind)
                return
            self._spawn(self._deliver(target, message), f"notify-{kind}-{target.id}")

    async def _deliver(self, target: Target, message: Message) -> None:
        try:
            outcome = await deliver(
                lambda: self._attempt(target, message),
                self.backoff,
                label=target.where,
                rng=self.rng,
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("notification to %s failed unexpectedly", target.where)
            return
        if not outcome.ok:
            log.error(
                "gave up on the %s notification %s to %s after %d attempt%s: %s",
                message.kind,
                message.delivery,
                target.where,
                outcome.attempts,
                "" if outcome.attempts == 1 else "s",
                outcome.error,
            )

    def _message(self, kind: str, summary: Mapping[str, Any] | None) -> Message:
        delivery = payload.new_delivery_id()
        body = payload.body(kind, summary, delivery=delivery, sent_at=datetime.now(UTC))
        title, text = payload.message(kind, summary)
        return Message(kind=kind, delivery=delivery, body=body, title=title, text=text)

    async def _attempt(self, target: Target, message: Message) -> Attempt:
        if target.kind == "apprise":
            return await send_apprise(target, message, self._blocking)
        return await post_webhook(
            self.http, target, message, timeout=self.timeout, cap=self.backoff.cap
        )

    async def _blocking(self, call: Callable[[], bool]) -> bool:
        """Run a blocking Apprise call on this notifier's own few threads, so a slow
        service never takes the threads the database and the engines use. Its connections
        are checked against :attr:`addresses`: a call that failed after one was refused
        raises :class:`~haul.errors.AddressRefused`."""
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=self._apprise_threads, thread_name_prefix="haul-apprise"
            )
        policy = self.addresses

        def guarded() -> bool:
            with guard.watch(policy) as scope:
                delivered = call()
            if not delivered and scope is not None and scope.refusals:
                raise guard.refused(scope.refusals[0])  # Apprise said False, not why
            return delivered

        return await asyncio.get_running_loop().run_in_executor(self._executor, guarded)
