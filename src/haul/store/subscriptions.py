"""The subscription store: what the checker asks of the place subscriptions are kept, by name.

The checker claims due subscriptions (a lease, like a job's: on PostgreSQL with ``SKIP
LOCKED``, so many workers share them), reads which of a listing's entries were seen, records
a check (every decided entry once, and a download for each entry to download, in one
transaction) or its failure, and gives a subscription back. Recording is an insert that
ignores entries already there (a unique key per subscription and entry), never a read and
then an insert: two checks of one subscription at once (a lease that expired under a slow
check, a worker killed and restarted) make each entry one download at most.

:class:`~haul.store.sql_subscriptions.SqlSubscriptionStore` runs it on SQLite and PostgreSQL;
:class:`~haul.store.memory_subscriptions.MemorySubscriptionStore` in memory, for tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from haul.core.subscriptions import Kept, Plan, Rules

__all__ = ["Checked", "Due", "Recorded", "SubscriptionStore", "stored_key"]

#: Entry keys longer than this are kept as their digest.
KEY_LENGTH = 200


def stored_key(key: str) -> str:
    """An entry's key as the database keeps it (a long one as its SHA-256)."""
    if len(key) <= KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Due:
    """A subscription to check, as the checker needs it."""

    id: int
    owner_key: str
    url: str
    kind: str
    interval_minutes: int
    rules: Rules = field(default_factory=Rules)
    title: str | None = None
    user_id: int | None = None
    profile: str | None = None
    media_id: int | None = None
    keep_last: int | None = None
    #: Its first check was made (``backfill`` no longer applies).
    primed: bool = False
    #: Failed checks in a row so far.
    failures: int = 0


@dataclass(frozen=True, slots=True)
class Checked:
    """A check to record: what it decided (:class:`~haul.core.subscriptions.Plan`), what the
    listing is called and turned out to be, and when to check next."""

    subscription_id: int
    worker_id: str
    plan: Plan
    kind: str
    title: str | None
    at: datetime
    next_at: datetime
    #: What the subscription shows although its check went through (a title filter too slow).
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Recorded:
    """What a recorded check made: the downloads of entries new to the store (an entry that
    another check recorded first makes none here), and how many were only remembered."""

    downloads: list[int] = field(default_factory=list)
    remembered: int = 0
    #: Entries whose download was refused when it was made (key, the sentence).
    refused: list[tuple[str, str]] = field(default_factory=list)


class SubscriptionStore(Protocol):
    """The checker's operations on stored subscriptions."""

    async def claim_due(
        self,
        worker_id: str,
        limit: int,
        now: datetime,
        lease: timedelta,
        *,
        only: int | None = None,
    ) -> list[Due]:
        """Lease to ``worker_id`` until ``now + lease`` up to ``limit`` subscriptions that are
        due (not paused, ``next_check_at`` passed) and not leased (or whose lease ran out),
        the longest due first; ``only``: that subscription alone, due or not ("check now")."""
        ...

    async def seen(self, subscription_id: int, keys: Collection[str]) -> set[str]:
        """Which of ``keys`` (as listed; see :func:`stored_key`) the subscription saw."""
        ...

    async def record(self, checked: Checked) -> Recorded:
        """Record a check in one transaction: each decided entry not yet seen is remembered,
        each of those to download becomes a download (queued, never refused for a limit:
        it waits its turn), and the subscription's schedule is written (no error, checked
        now, next check, lease given back). A subscription deleted meanwhile records
        nothing. Raises what the write raised (then nothing was written)."""
        ...

    async def failed(
        self, subscription_id: int, worker_id: str, message: str, at: datetime, next_at: datetime
    ) -> None:
        """A check failed: its error is kept and shown, the failures in a row counted, the
        next check comes at ``next_at``, the lease is given back."""
        ...

    async def renew(self, subscription_id: int, worker_id: str, until: datetime) -> bool:
        """Hold ``worker_id``'s lease until ``until`` (a check under way); False when the lease
        is no longer its own (it ran out and another worker took it)."""
        ...

    async def release(self, subscription_id: int, worker_id: str) -> None:
        """Give back ``worker_id``'s lease (a check that was stopped)."""
        ...

    async def kept(self, subscription_id: int) -> list[Kept]:
        """The subscription's completed downloads still kept (id, when its entry was seen,
        when it was published)."""
        ...
