"""A live stream keeps asking whether its caller may still read it.

An event stream (``/events``, ``/ws``) is authorised once, when it opens, and may then run for
days. When its account is disabled or demoted, its login ends or its token is revoked, it must
stop: :class:`CallerWatch` asks again who the caller is every :data:`RECHECK_SECONDS` (a change
made in another process, a second ``haul serve`` or a CLI on the same database, is seen then,
plus the credentials' own short cache), and at once when this process changed an account
(:attr:`~haul.service.accounts.AccountService.changes`). The stream ends when the answer is no
one, or someone else, or the same person with other rights; a client that may still read
connects again and gets what it may now see.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from starlette.requests import HTTPConnection

from haul.errors import HaulError, Unauthorized
from haul.service import Owner
from haul.web.auth import Gate

log = logging.getLogger(__name__)

RECHECK_SECONDS = 2.0
CHANGED = "Your account's rights changed: connect again to see what you may see now."
UNCHECKED = "haul could not check your login just now: connect again."


class CallerWatch:
    def __init__(
        self,
        gate: Gate,
        conn: HTTPConnection,
        owner: Owner,
        *,
        every: float = RECHECK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.gate = gate
        self.conn = conn
        self.owner = owner
        self.every = every
        self.clock = clock
        self._asked_at = clock()
        self._changes = gate.accounts.changes
        #: Why the stream ended, once it has; ``unauthorized``: the caller has no login now.
        self.reason: str | None = None
        self.unauthorized = False

    async def ended(self) -> bool:
        """Whether the stream must end now (cheap when nothing is due: call it often)."""
        if self.reason is not None:
            return True
        changes = self.gate.accounts.changes
        now = self.clock()
        if changes == self._changes and now - self._asked_at < self.every:
            return False
        self._changes, self._asked_at = changes, now
        try:
            current = await self.gate.fresh_owner(self.conn)
        except HaulError as exc:
            self.unauthorized = isinstance(exc, Unauthorized)
            self.reason = exc.message
            return True
        except Exception:  # the database did not answer: end rather than trust blindly
            log.warning("could not check the caller of a live stream", exc_info=True)
            self.reason = UNCHECKED
            return True
        if current.key != self.owner.key or current.is_admin != self.owner.is_admin:
            self.reason = CHANGED
            return True
        return False
