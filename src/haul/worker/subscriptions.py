"""The subscription checker: claims due subscriptions, lists them, downloads what is new.

A pass (run every ``poll_interval`` seconds by a :class:`~haul.periodic.Periodic`, and at once
for "check now") leases due subscriptions from the :class:`SubscriptionStore`, at most
``at_once`` checks running in this worker, each started after a short random pause so the
sites of many subscriptions made together are not all asked in the same second. A check:

1. lists the subscription (the lister handed in: yt-dlp's flat extraction of a page, a feed,
   an IPTV series), bounded by ``timeout``;
2. checks every entry's link as a submitted link is checked (a link haul refuses is
   remembered with the reason, never fetched);
3. asks the store which entries it saw, and lets :func:`haul.core.subscriptions.plan` decide
   what each new one becomes;
4. records the check in one transaction (the store's unique key per entry makes an entry one
   download at most, whatever else checks it at the same moment), then tells: the new
   downloads are published, the worker is woken, the owner's notification targets hear of
   each (``subscription.new``), and ``keep_last`` lets the oldest files go.

A check that fails keeps its error on the subscription (shown everywhere) and is tried again
later and later (:func:`haul.core.subscriptions.retry_after`); a worker that dies mid-check
leaves a lease that runs out, and the next pass of any worker checks it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from haul.core.sources import parse_source
from haul.core.subscriptions import (
    SLOW_FILTER,
    Entry,
    Plan,
    next_check,
    plan,
    retry_after,
    to_prune,
)
from haul.errors import HaulError
from haul.store.models import utcnow
from haul.store.subscriptions import Checked, Due, SubscriptionStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Listing:
    """What a listing holds: the kind it turned out to be, its title, its entries."""

    kind: str
    title: str | None
    entries: Sequence[Entry]


#: Lists a subscription (raises a HaulError with a sentence when it cannot).
Lister = Callable[[Due], Awaitable[Listing]]
#: Readies the entries about to be downloaded (an IPTV episode's library item); same order.
Prepare = Callable[[Due, Sequence[Entry]], Awaitable[Sequence[Entry]]]
#: Forgets what a listing kept for :data:`Prepare` (called after every check, however it ended).
Forget = Callable[[Due], None]


@dataclass(frozen=True, slots=True)
class CheckerConfig:
    #: Checks running at once in this worker.
    at_once: int = 2
    #: Seconds between two looks for due subscriptions.
    poll_interval: float = 30.0
    #: How long a check holds its subscription unless renewed: a check renews it every third
    #: of it, so another worker takes the subscription of one that died this long after.
    lease: timedelta = timedelta(seconds=60)
    #: Seconds a listing may take.
    timeout: float = 300.0
    #: Up to this many seconds of pause before each check of a pass.
    jitter: float = 5.0
    allow_private: bool = True


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a check did."""

    subscription_id: int
    downloads: list[int] = dataclasses.field(default_factory=list)
    remembered: int = 0
    #: New entries left for the next check (``max_per_check``).
    deferred: int = 0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Telling:
    """Whom a check tells of what it made (all called on the loop, after the commit)."""

    #: The new downloads' ids: publish them (events to the pages, the CLI, the API).
    published: Callable[[list[int]], Awaitable[None]] | None = None
    #: The subscription and its new downloads: notification targets, the owner's events.
    told: Callable[[Due, Outcome], Awaitable[None]] | None = None
    #: Downloads ``keep_last`` lets go (their files are deleted).
    prune: Callable[[Due, list[int]], Awaitable[None]] | None = None
    #: The queue changed: look at it now.
    wake: Callable[[], None] = lambda: None


class Checker:
    def __init__(
        self,
        store: SubscriptionStore,
        lister: Lister,
        *,
        worker_id: str,
        config: CheckerConfig | None = None,
        telling: Telling | None = None,
        prepare: Prepare | None = None,
        forget: Forget | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.lister = lister
        self.worker_id = worker_id
        self.config = config or CheckerConfig()
        self.telling = telling or Telling()
        self.prepare = prepare
        self.forget = forget
        self.rng = rng or random.Random()
        self.clock = clock
        self._tasks: set[asyncio.Task[Outcome]] = set()

    @property
    def running(self) -> int:
        return len(self._tasks)

    async def run_pass(self) -> int:
        """Lease what is due, up to the room left, and start checking it; how many started."""
        room = self.config.at_once - len(self._tasks)
        if room <= 0:
            return 0
        due = await self.store.claim_due(self.worker_id, room, self.clock(), self.config.lease)
        for sub in due:
            pause = self.rng.uniform(0, self.config.jitter) if self.config.jitter > 0 else 0.0
            task = asyncio.create_task(self._later(sub, pause), name=f"haul-check-{sub.id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(due)

    async def check_now(self, subscription_id: int) -> Outcome | None:
        """Check one subscription now and return what it did; None when it cannot be taken
        (paused, not due, or being checked by someone else)."""
        due = await self.store.claim_due(
            self.worker_id, 1, self.clock(), self.config.lease, only=subscription_id
        )
        if not due:
            return None
        return await self.check(due[0])

    async def wait_idle(self) -> None:
        """Wait until the checks started by passes have ended."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    async def stop(self) -> None:
        """Stop the checks under way (their leases are given back)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _later(self, sub: Due, pause: float) -> Outcome:
        try:
            await asyncio.sleep(pause)
        except asyncio.CancelledError:
            await self._give_back(sub)
            raise
        return await self.check(sub)

    async def check(self, sub: Due) -> Outcome:
        """Check a subscription this worker leased (see the module)."""
        try:
            outcome = await self._check(sub)
        except asyncio.CancelledError:
            await self._give_back(sub)
            raise
        except Exception as exc:
            message = _sentence(exc)
            if not isinstance(exc, HaulError):
                log.exception("subscription %s: the check failed", sub.id)
            now = self.clock()
            next_at = now + retry_after(sub.failures + 1, sub.interval_minutes, self.rng)
            await self.store.failed(sub.id, self.worker_id, message, now, next_at)
            outcome = Outcome(sub.id, error=message)
            await self._tell(sub, outcome)
            return outcome
        await self._tell(sub, outcome)
        return outcome

    async def _check(self, sub: Due) -> Outcome:
        keeping = asyncio.create_task(self._keep_lease(sub), name=f"haul-lease-{sub.id}")
        try:
            return await self._listed(sub)
        finally:
            if self.forget is not None:
                self.forget(sub)
            keeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeping

    async def _keep_lease(self, sub: Due) -> None:
        """Renew the lease while the check runs (a worker that dies stops renewing it)."""
        every = self.config.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(every)
            try:
                if not await self.store.renew(
                    sub.id, self.worker_id, self.clock() + self.config.lease
                ):
                    log.warning("subscription %s: another worker took over its check", sub.id)
                    return
            except Exception:
                log.exception("subscription %s: its lease could not be renewed", sub.id)

    async def _listed(self, sub: Due) -> Outcome:
        listing = await asyncio.wait_for(self.lister(sub), self.config.timeout)
        entries = [self._checked(entry) for entry in listing.entries]
        seen = await self.store.seen(sub.id, [entry.key for entry in entries])
        decided = plan(entries, seen, first=not sub.primed, rules=sub.rules)
        if decided.downloads and self.prepare is not None:
            decided = await self._prepared(sub, decided)
        now = self.clock()
        recorded = await self.store.record(
            Checked(
                subscription_id=sub.id,
                worker_id=self.worker_id,
                plan=decided,
                kind=listing.kind,
                title=listing.title,
                at=now,
                next_at=next_check(now, sub.interval_minutes, self.rng),
                problem=SLOW_FILTER if decided.slow_filter else None,
            )
        )
        for key, why in recorded.refused:
            log.warning("subscription %s: entry %r was refused: %s", sub.id, key, why)
        return Outcome(sub.id, recorded.downloads, recorded.remembered, decided.deferred)

    def _checked(self, entry: Entry) -> Entry:
        """The entry with its link checked as a submitted link is (normalised), or refused."""
        if entry.url is None or entry.iptv is not None or entry.refused is not None:
            return entry
        try:
            source = parse_source(entry.url, allow_private=self.config.allow_private)
        except HaulError as exc:
            return dataclasses.replace(entry, refused=exc.message)
        if source.kind != "url":
            return dataclasses.replace(entry, refused="Subscriptions download web links only.")
        return dataclasses.replace(entry, url=source.url)

    async def _prepared(self, sub: Due, decided: Plan) -> Plan:
        assert self.prepare is not None
        chosen = [d for d in decided.decisions if d.downloads]
        ready = list(await self.prepare(sub, [d.entry for d in chosen]))
        replaced = dict(zip((id(d) for d in chosen), ready, strict=True))
        return dataclasses.replace(
            decided,
            decisions=tuple(
                dataclasses.replace(d, entry=replaced[id(d)]) if id(d) in replaced else d
                for d in decided.decisions
            ),
        )

    async def _tell(self, sub: Due, outcome: Outcome) -> None:
        """Tell whom it concerns; a failure here is logged, never the check's."""
        telling = self.telling
        try:
            if outcome.downloads:
                telling.wake()
                if telling.published is not None:
                    await telling.published(outcome.downloads)
            if telling.told is not None:
                await telling.told(sub, outcome)
            if outcome.error is None and sub.keep_last is not None and telling.prune is not None:
                gone = to_prune(await self.store.kept(sub.id), sub.keep_last)
                if gone:
                    await telling.prune(sub, gone)
        except Exception:
            log.exception("subscription %s: telling of its check failed", sub.id)

    async def _give_back(self, sub: Due) -> None:
        with contextlib.suppress(Exception):
            await asyncio.shield(self.store.release(sub.id, self.worker_id))


def _sentence(exc: BaseException) -> str:
    """What a failed check says on its subscription."""
    if isinstance(exc, HaulError):
        return exc.message
    if isinstance(exc, TimeoutError):
        return "The listing did not answer in time; it is checked again later."
    text = str(exc).strip() or type(exc).__name__
    return f"The check failed: {text[:500]}"
