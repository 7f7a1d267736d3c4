"""What a built-in job's end other than completion does to its row, the same for the SQL and the
in-memory job store: each store finds the row, says where its history events go, and keeps what
a download failed for good leaves behind (its error log). Every phase it moves to is the
lifecycle's (:mod:`haul.core.lifecycle`): a step the lifecycle refuses (the download was
canceled meanwhile) moves nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from haul.core import lifecycle
from haul.core.lifecycle import Change
from haul.errors import InvalidTransition
from haul.store.changes import Record, apply, record, snapshot
from haul.store.jobs import Failure, Learned
from haul.store.models import Download

if TYPE_CHECKING:
    from haul.store.memory_state import StoredJob

__all__ = ["Record", "fail", "keep_learned", "release", "stop", "wait_for_space"]


def keep_learned(row: Download | StoredJob, learned: Learned) -> None:
    """Copy what this attempt learned of the source onto the row being written."""
    if learned.resolved is not None and row.meta.get("resolved") != learned.resolved:
        row.meta = {**row.meta, "resolved": learned.resolved}
    row.title = row.title or learned.title


def release(row: Download | StoredJob, learned: Learned) -> None:
    """The job is given back: no worker holds it."""
    row.lease_worker_id = None
    keep_learned(row, learned)


def _take(row: Download | StoredJob, change: Callable[[], Change], add: Record) -> bool:
    """Apply the lifecycle's change (made by ``change``) to ``row``, with its history; False
    when the lifecycle refuses it (nothing moves)."""
    try:
        made = change()
    except InvalidTransition:
        return False
    apply(row, made)
    record(made, add)
    return True


def _note(row: Download | StoredJob, code: str, message: str) -> None:
    """A download canceled meanwhile keeps why its job stopped (its phase stays canceled)."""
    row.last_error_code = code
    row.last_error_message = message


def stop(row: Download | StoredJob, learned: Learned, add: Record, *, paused: bool) -> None:
    """The job stopped (paused, canceled or shut down); a pause puts it back in the queue."""
    snap = snapshot(row)
    release(row, learned)
    if paused:
        _take(row, partial(lifecycle.park, snap), add)


def wait_for_space(
    row: Download | StoredJob,
    learned: Learned,
    add: Record,
    message: str,
    code: str,
    until: datetime,
) -> None:
    """The job waits in the queue until ``until`` for disk space (said once in its history)."""
    snap = snapshot(row)
    release(row, learned)
    if snap.canceled:
        _note(row, code, message)
        return
    park = partial(lifecycle.park, snap, retry_at=until, code=code, message=message)
    _take(row, park, add)


def fail(
    row: Download | StoredJob,
    learned: Learned,
    add: Record,
    failure: Failure,
    retry: Callable[[int], float | None] | None,
    now: datetime,
) -> bool:
    """The job failed: it is retried later if ``retry`` gives a delay for its attempt, else it
    has failed for good (True: the store keeps its error log)."""
    snap = snapshot(row)
    release(row, learned)
    if snap.canceled:
        _note(row, failure.code, failure.message)
        return False
    code, message = failure.code, failure.message
    if retry is not None and (delay := retry(snap.retry_attempt)) is not None:
        at = now + timedelta(seconds=delay)
        requeue = partial(lifecycle.requeue, snap, retry_at=at, code=code, message=message)
        _take(row, partial(requeue, delay=delay), add)
        return False
    return _take(row, partial(lifecycle.fail, snap, at=now, code=code, message=message), add)
