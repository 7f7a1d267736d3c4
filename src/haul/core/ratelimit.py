"""Events counted per key in a sliding window (pure: the clock is passed in): failed logins,
and costly requests such as format listings."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class FailureWindow:
    """At most ``allowed`` failures per key within ``window`` seconds."""

    allowed: int
    window: float
    _seen: dict[str, deque[float]] = field(default_factory=dict)

    def wait(self, key: str, now: float, allowed: int | None = None) -> float:
        """Seconds until ``key`` may try again (0: now), after ``allowed`` failures (by
        default the window's own number)."""
        times = self._recent(key, now)
        most = self.allowed if allowed is None else allowed
        if len(times) < most:
            return 0.0
        return max(0.0, times[-most] + self.window - now)

    def count(self, key: str, now: float) -> int:
        """Failures of ``key`` within the window."""
        return len(self._recent(key, now))

    def failed(self, key: str, now: float) -> None:
        self._recent(key, now).append(now)
        if len(self._seen) > 10_000:  # forget the quiet keys of a long-running process
            for stale in [k for k, t in self._seen.items() if not t or t[-1] < now - self.window]:
                del self._seen[stale]

    def succeeded(self, key: str) -> None:
        self._seen.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._seen.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times


@dataclass
class RateWindow:
    """At most ``allowed`` uses per key within ``window`` seconds."""

    allowed: int
    window: float
    _uses: FailureWindow = field(init=False)

    def __post_init__(self) -> None:
        self._uses = FailureWindow(self.allowed, self.window)

    def take(self, key: str, now: float) -> float:
        """Use one for ``key`` if it may (0 returned), else the seconds until it may."""
        wait = self._uses.wait(key, now)
        if wait == 0:
            self._uses.failed(key, now)
        return wait
