"""The speed budgets of the transfers this process runs: one shared by all of them (the
global limit, or this worker's share of it), one per owner, and one per download.

Every transfer of the built-in engine takes a :class:`JobThrottle` from :meth:`Budgets.throttle`
and hands it each piece it received (the HTTP engine as it reads, the live recorder per
segment, yt-dlp from its progress hook, in its own thread); the piece is counted against every
bucket that applies and the transfer waits for the slowest of them. So two transfers share
the global budget, an owner's transfers share theirs, and a change of any limit reaches the
running transfers with their next piece.

The buckets are :class:`~haul.core.bandwidth.TokenBucket` on the monotonic clock, behind one
lock (yt-dlp's threads take from them too); a piece holds it for a few arithmetic steps.

With several workers (PostgreSQL), each holds ``share`` of the global limit: the part of
all running built-in transfers that are its own, learned at its heartbeat
(:meth:`Budgets.set_share`), so that together they keep to the limit; and of each owner's
limit the part of that owner's transfers that are its own (:meth:`Budgets.set_owner_shares`).

The limits are plain bytes per second, as aria2's ``max-overall-download-limit``, qBittorrent's
``dl_limit`` and Transmission's ``speed-limit-down`` (kB/s) take them: the same values can be
passed on to those clients.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from haul.core.bandwidth import TokenBucket
from haul.engine.base import StopSignal

#: The longest a thread sleeps at once while it waits on a limit (it looks at its stop
#: signal in between).
_STEP = 0.1


@dataclass
class _Owner:
    bucket: TokenBucket
    transfers: int = 0
    #: This process's part of the owner's limit (see the module docstring).
    share: float = 1.0


@dataclass
class Budgets:
    """The buckets of this process (see the module docstring)."""

    clock: Callable[[], float] = time.monotonic
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _global_limit: int | None = None
    _share: float = 1.0
    _owner_limit: int | None = None
    _global: TokenBucket = field(init=False)
    _owners: dict[str, _Owner] = field(default_factory=dict)
    _downloads: dict[int, TokenBucket] = field(default_factory=dict)
    _download_limits: dict[int, int | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._global = TokenBucket(None, self.clock())

    # -- the limits -----------------------------------------------------------------------

    @property
    def global_limit(self) -> int | None:
        """The global limit of the whole instance in force (not this process's share)."""
        return self._global_limit

    @property
    def share(self) -> float:
        return self._share

    @property
    def owner_limit(self) -> int | None:
        return self._owner_limit

    def set_global(self, rate: int | None) -> None:
        """The global limit in force (the configured one, or a schedule window's)."""
        with self._lock:
            self._global_limit = rate or None
            self._apply_global()

    def set_share(self, share: float) -> None:
        """This process's part of the global limit, 0 < share <= 1."""
        with self._lock:
            self._share = min(1.0, max(0.01, share))
            self._apply_global()

    def _apply_global(self) -> None:
        rate = (
            None if self._global_limit is None else max(1, round(self._global_limit * self._share))
        )
        if rate != self._global.rate:
            self._global.set_rate(rate, self.clock())

    def set_owner_limit(self, rate: int | None) -> None:
        """The limit of each owner's transfers together."""
        with self._lock:
            self._owner_limit = rate or None
            now = self.clock()
            for owner in self._owners.values():
                self._apply_owner(owner, now)

    def set_owner_shares(self, shares: Mapping[str, float]) -> None:
        """This process's part of each owner's limit (0 < share <= 1; an owner not named
        keeps its part)."""
        with self._lock:
            now = self.clock()
            for key, share in shares.items():
                owner = self._owners.get(key)
                if owner is not None:
                    owner.share = min(1.0, max(0.01, share))
                    self._apply_owner(owner, now)

    def _apply_owner(self, owner: _Owner, now: float) -> None:
        limit = self._owner_limit
        rate = None if limit is None else max(1, round(limit * owner.share))
        if rate != owner.bucket.rate:
            owner.bucket.set_rate(rate, now)

    def transfers_by_owner(self) -> dict[str, int]:
        """How many transfers of each owner this process runs now."""
        with self._lock:
            return {key: owner.transfers for key, owner in self._owners.items()}

    def set_download_limit(self, download_id: int, rate: int | None) -> None:
        """A download's own limit; a running transfer follows with its next piece."""
        with self._lock:
            rate = rate or None
            if self._download_limits.get(download_id, rate) == rate and (
                download_id in self._download_limits
            ):
                return
            self._download_limits[download_id] = rate
            bucket = self._downloads.get(download_id)
            if bucket is not None:
                bucket.set_rate(rate, self.clock())

    def download_limit(self, download_id: int) -> int | None:
        return self._download_limits.get(download_id)

    # -- transfers ------------------------------------------------------------------------

    def throttle(self, download_id: int, owner: str, rate: int | None = None) -> JobThrottle:
        """The throttle of a transfer starting now (``rate``: the download's own limit).
        :meth:`JobThrottle.close` when it ends."""
        with self._lock:
            now = self.clock()
            entry = self._owners.get(owner)
            if entry is None:
                entry = self._owners[owner] = _Owner(TokenBucket(self._owner_limit, now))
            entry.transfers += 1
            self._download_limits[download_id] = rate or None
            bucket = self._downloads[download_id] = TokenBucket(rate, now)
            buckets = (self._global, entry.bucket, bucket)
        return JobThrottle(self, download_id, owner, buckets)

    def _end(self, download_id: int, owner: str) -> None:
        with self._lock:
            self._downloads.pop(download_id, None)
            self._download_limits.pop(download_id, None)
            entry = self._owners.get(owner)
            if entry is not None:
                entry.transfers -= 1
                if entry.transfers <= 0:
                    del self._owners[owner]

    def _reserve(self, buckets: tuple[TokenBucket, ...], n: int) -> float:
        with self._lock:
            now = self.clock()
            return max(bucket.take(n, now) for bucket in buckets)


class JobThrottle:
    """One transfer's :class:`~haul.engine.base.Throttle` over its buckets."""

    def __init__(
        self, budgets: Budgets, download_id: int, owner: str, buckets: tuple[TokenBucket, ...]
    ) -> None:
        self._budgets = budgets
        self._buckets = buckets
        self.download_id = download_id
        self.owner = owner
        self._closed = False

    async def take(self, n: int, stop: StopSignal | None = None) -> None:
        wait = self._budgets._reserve(self._buckets, n)
        if wait <= 0:
            return
        if stop is None:  # the caller's task is cancelled when it must stop
            await asyncio.sleep(wait)
            return
        deadline = time.monotonic() + wait
        while True:  # the stop signal is a thread's flag, so it is looked at in steps
            left = deadline - time.monotonic()
            if stop.is_set() or left <= 0:
                return
            await asyncio.sleep(min(_STEP, left))

    def take_blocking(self, n: int, stop: StopSignal) -> None:
        deadline = time.monotonic() + self._budgets._reserve(self._buckets, n)
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(_STEP, left))

    def close(self) -> None:
        """The transfer ended: its own bucket goes, its owner's when it was the last."""
        if not self._closed:
            self._closed = True
            self._budgets._end(self.download_id, self.owner)
