"""A download row the worker holds, brought up to what a completion wrote of it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm.attributes import set_committed_value

from haul.core.status import Phase
from haul.store.jobs import Completion, Recorded
from haul.store.models import Download


def settle(row: Download, completion: Completion, recorded: Recorded) -> None:
    """Set on ``row`` what it now is in the store after ``completion`` (as ``recorded``
    says), without the ORM's change tracking: no session holds the row, and tracking a JSON
    value costs more than the whole update."""
    now: dict[str, Any] = {
        "files": completion.files,
        "title": completion.title,
        "meta": completion.meta,
        "lease_worker_id": recorded.lease_worker_id,
        "phase": recorded.phase,
        "completed_at": recorded.completed_at,
        "canceled_at": recorded.canceled_at,
    }
    if recorded.phase in (Phase.PROCESSING, Phase.COMPLETED):
        now.update(last_error_code=None, last_error_message=None, retry_next_at=None)
    for key, value in now.items():
        set_committed_value(row, key, value)
