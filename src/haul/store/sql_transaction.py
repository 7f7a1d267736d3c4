"""Admission and claims inside an open database transaction (the worker's, or a completion's)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from haul.core.admission import Limits
from haul.store import downloads as q
from haul.store.models import Download


class SqlTransaction:
    """Admission and claims in an open session (in the database thread)."""

    def __init__(self, session: Session, *, skip_locked: bool) -> None:
        self.session = session
        self.skip_locked = skip_locked

    def admit_waiting(self, limits: Limits, *, now: datetime | None = None) -> list[int]:
        return q.admit_waiting(self.session, limits, now=now)

    def claim(self, worker_id: str, limit: int) -> list[Download]:
        return q.claim(self.session, worker_id, limit, skip_locked=self.skip_locked)
