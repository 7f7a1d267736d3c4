"""When to try a notification again, and how long to wait first (pure)."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter: attempt ``n`` (from 1) waits, before attempt ``n+1``,
    ``min(cap, base * factor**(n-1))`` less up to ``jitter`` of it, at random."""

    attempts: int = 5  # in all, the first one included
    base: float = 1.0
    cap: float = 60.0
    factor: float = 2.0
    jitter: float = 0.25

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("Backoff needs at least one attempt.")
        if self.base < 0 or self.cap < 0 or not 0 <= self.jitter <= 1:
            raise ValueError("Backoff delays must be positive and jitter within 0..1.")

    def delay(
        self, attempt: int, *, retry_after: float | None = None, rng: random.Random | None = None
    ) -> float | None:
        """Seconds to wait after failed attempt ``attempt`` (1 is the first), or None when
        that was the last one. A server's ``Retry-After`` (already checked to be small, see
        :func:`retry_after_seconds`) is honoured when it asks for longer."""
        if attempt >= self.attempts:
            return None
        full = min(self.cap, self.base * self.factor ** (attempt - 1))
        wait = full * (1.0 - self.jitter * (rng or random).random())
        if retry_after is not None:
            wait = max(wait, retry_after)
        return wait

    def schedule(self, rng: random.Random | None = None) -> list[float]:
        """Every wait a delivery that always fails goes through."""
        waits = []
        for attempt in range(1, self.attempts):
            wait = self.delay(attempt, rng=rng)
            assert wait is not None
            waits.append(wait)
        return waits


def retry_after_seconds(value: str | None, *, cap: float) -> float | None:
    """A ``Retry-After`` header worth honouring: a whole number of seconds up to ``cap``.

    An HTTP date or a longer wait is ignored (the backoff decides instead): a receiver that
    asks for an hour should not hold a delivery, or haul's shutdown, that long.
    """
    if value is None:
        return None
    text = value.strip()
    if not text.isdigit():
        return None
    seconds = float(int(text))
    return seconds if seconds <= cap else None


def status_retryable(status: int) -> bool:
    """5xx and 429 say "try again later"; every other 4xx is final."""
    return status >= 500 or status == 429
