"""The subscription store in memory: the checker's decisions tested without a database.

Downloads it makes are only numbered (``downloads`` says which entry each is of); a test marks
one completed with :meth:`MemorySubscriptionStore.complete`. Every operation runs without an
await in its middle, so it is one transaction on the event loop.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from haul.core.subscriptions import Kept, Rules
from haul.store.models import utcnow
from haul.store.subscriptions import Checked, Due, Recorded, SubscriptionStore, stored_key


@dataclass
class MemorySubscription:
    """A stored subscription and its schedule."""

    due: Due
    paused: bool = False
    next_check_at: datetime = field(default_factory=utcnow)
    last_checked_at: datetime | None = None
    last_error: str | None = None
    lease_worker_id: str | None = None
    lease_until: datetime | None = None


@dataclass
class MemoryEntry:
    key: str
    seen_at: datetime
    published: datetime | None
    download_id: int | None
    skipped: str | None


class MemorySubscriptionStore:
    def __init__(self) -> None:
        self.subscriptions: dict[int, MemorySubscription] = {}
        self.entries: dict[tuple[int, str], MemoryEntry] = {}
        #: download id -> (subscription, entry key) it was made for
        self.downloads: dict[int, tuple[int, str]] = {}
        self.completed: set[int] = set()
        #: Owners whose account is disabled (their subscriptions are not checked).
        self.disabled: set[str] = set()
        self._next_id = 0

    # -- what tests set up ----------------------------------------------------------------

    def add(
        self,
        owner_key: str,
        url: str,
        *,
        kind: str = "playlist",
        interval_minutes: int = 60,
        rules: Rules | None = None,
        **fields: Any,
    ) -> int:
        """Store a subscription due now; its id."""
        self._next_id += 1
        due = Due(self._next_id, owner_key, url, kind, interval_minutes, rules=rules or Rules())
        self.subscriptions[due.id] = MemorySubscription(due, **fields)
        return due.id

    def complete(self, download_id: int) -> None:
        self.completed.add(download_id)

    # -- the protocol -----------------------------------------------------------------------

    async def claim_due(
        self,
        worker_id: str,
        limit: int,
        now: datetime,
        lease: timedelta,
        *,
        only: int | None = None,
    ) -> list[Due]:
        due = [
            sub
            for sub in self.subscriptions.values()
            if not sub.paused
            and sub.due.owner_key not in self.disabled
            and (sub.lease_until is None or sub.lease_until < now)
            and (sub.next_check_at <= now if only is None else sub.due.id == only)
        ]
        due.sort(key=lambda sub: (sub.next_check_at, sub.due.id))
        for sub in due[:limit]:
            sub.lease_worker_id = worker_id
            sub.lease_until = now + lease
        return [sub.due for sub in due[:limit]]

    async def seen(self, subscription_id: int, keys: Collection[str]) -> set[str]:
        return {k for k in keys if (subscription_id, stored_key(k)) in self.entries}

    async def record(self, checked: Checked) -> Recorded:
        sub = self.subscriptions.get(checked.subscription_id)
        if sub is None:
            return Recorded()
        made: list[int] = []
        remembered = 0
        for decision in checked.plan.decisions:
            key = (checked.subscription_id, stored_key(decision.entry.key))
            if key in self.entries:
                continue
            download_id = None
            if decision.downloads:
                download_id = max(self.downloads, default=0) + 1
                self.downloads[download_id] = key
                made.append(download_id)
            else:
                remembered += 1
            self.entries[key] = MemoryEntry(
                key[1], checked.at, decision.entry.published, download_id, decision.skipped
            )
        sub.due = dataclasses.replace(
            sub.due,
            kind=checked.kind,
            title=sub.due.title or checked.title,
            primed=True,
            failures=0,
        )
        sub.last_checked_at = checked.at
        sub.next_check_at = checked.next_at
        sub.last_error = checked.problem
        self._unlease(sub, checked.worker_id)
        return Recorded(made, remembered)

    async def failed(
        self, subscription_id: int, worker_id: str, message: str, at: datetime, next_at: datetime
    ) -> None:
        sub = self.subscriptions.get(subscription_id)
        if sub is None or sub.lease_worker_id != worker_id:
            return  # another worker checks it now (this one's lease ran out): its word
        sub.due = dataclasses.replace(sub.due, failures=sub.due.failures + 1)
        sub.last_error = message
        sub.last_checked_at = at
        sub.next_check_at = next_at
        self._unlease(sub, worker_id)

    async def renew(self, subscription_id: int, worker_id: str, until: datetime) -> bool:
        sub = self.subscriptions.get(subscription_id)
        if sub is None or sub.lease_worker_id != worker_id:
            return False
        sub.lease_until = until
        return True

    async def release(self, subscription_id: int, worker_id: str) -> None:
        sub = self.subscriptions.get(subscription_id)
        if sub is not None:
            self._unlease(sub, worker_id)

    async def kept(self, subscription_id: int) -> list[Kept]:
        return [
            (entry.download_id, entry.seen_at, entry.published)
            for (sub_id, _), entry in self.entries.items()
            if sub_id == subscription_id
            and entry.download_id is not None
            and entry.download_id in self.completed
        ]

    @staticmethod
    def _unlease(sub: MemorySubscription, worker_id: str) -> None:
        if sub.lease_worker_id == worker_id:
            sub.lease_worker_id = None
            sub.lease_until = None


if TYPE_CHECKING:  # the store has every operation of the protocol
    _conforms: type[SubscriptionStore] = MemorySubscriptionStore
