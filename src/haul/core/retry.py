"""When to try a failed transfer again (pure)."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 5.0
    factor: float = 2.0
    max_delay: float = 600.0
    jitter: float = 0.2  # +/- fraction of the delay

    def delay(
        self, attempt: int, *, retry_after: float | None = None, rng: random.Random | None = None
    ) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None when no attempt is left.

        ``attempt`` counts the automatic retries already made. A server's ``Retry-After``
        is honoured when it asks for longer than the backoff.
        """
        if attempt >= self.max_attempts:
            return None
        backoff = min(self.max_delay, self.base_delay * self.factor**attempt)
        spread = backoff * self.jitter
        backoff += (rng or random).uniform(-spread, spread)
        if retry_after is not None:
            backoff = max(backoff, min(retry_after, self.max_delay))
        return max(0.0, backoff)


@dataclass(frozen=True, slots=True)
class Backoff:
    """How long to wait before writing again what the database refused (a full disk, a
    restarting server): soon at first, then less and less often, without end (no attempt
    limit: what is being written is a fact that must not be lost)."""

    base_delay: float = 0.2
    factor: float = 2.0
    max_delay: float = 10.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after ``attempt`` failed writes (0 for the first try)."""
        if attempt <= 0:
            return 0.0
        return min(self.max_delay, self.base_delay * self.factor ** min(attempt - 1, 64))
