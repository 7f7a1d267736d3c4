"""Telling the workers that the queue changed, from parts made before any worker.

A submit, a resume or a raised limit should reach the worker at once, not at its next poll.
The download service that submits and the runtime settings that change limits are made long
before the worker (which needs them), so the signal they send is made first of all: the
event this process's worker waits on, and the PostgreSQL bridge's NOTIFY that wakes the
workers of other processes. The worker is then given the same event when it is made.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from haul.core.config import RuntimeValues


@dataclass(frozen=True, slots=True)
class Wakeups:
    """Where "look at the queue now" goes: ``local`` (set when this process runs a worker)
    and ``others`` (the other processes' workers; nobody on SQLite)."""

    runs_worker: bool
    others: Callable[[], None] | None = None
    #: The event this process's worker waits on between passes (handed to it when made).
    local: asyncio.Event = field(default_factory=asyncio.Event)

    def here(self) -> None:
        """This process's worker looks at the queue now (when it runs one)."""
        if self.runs_worker:
            self.local.set()

    def everywhere(self) -> None:
        """Every worker looks at the queue now: this process's and the others'."""
        self.here()
        if self.others is not None:
            self.others()

    def on_limits(self, old: RuntimeValues, new: RuntimeValues) -> None:
        """A settings listener: a changed limit may admit what waits, at once."""
        before = (old.limit_global, old.limit_per_owner, old.site_rules)
        if before != (new.limit_global, new.limit_per_owner, new.site_rules):
            self.here()
