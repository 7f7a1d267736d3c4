"""What a built-in job's end other than completion does to its row, the same for the SQL and the
in-memory job store: each store finds the row, says where its history events go, and keeps what
a download failed for good leaves behind (its error log)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from haul.core.status import Phase
from haul.store.jobs import Failure, Learned
from haul.store.models import Download

if TYPE_CHECKING:
    from haul.store.memory_state import StoredJob


class Record(Protocol):
    """Adds one event to the download's history."""

    def __call__(self, kind: str, message: str | None = None, **data: Any) -> None: ...


def keep_learned(row: Download | StoredJob, learned: Learned) -> None:
    """Copy what this attempt learned of the source onto the row being written."""
    if learned.resolved is not None and row.meta.get("resolved") != learned.resolved:
        row.meta = {**row.meta, "resolved": learned.resolved}
    row.title = row.title or learned.title


def release(row: Download | StoredJob, learned: Learned) -> None:
    """The job is given back: no worker holds it."""
    row.lease_worker_id = None
    keep_learned(row, learned)


def stop(row: Download | StoredJob, learned: Learned, record: Record, *, paused: bool) -> None:
    """The job stopped (paused, canceled or shut down); a pause puts it back in the queue."""
    release(row, learned)
    if paused and row.canceled_at is None:
        row.phase = Phase.QUEUED.value
        record("paused")


def wait_for_space(
    row: Download | StoredJob,
    learned: Learned,
    record: Record,
    message: str,
    code: str,
    until: datetime,
) -> None:
    """The job waits in the queue until ``until`` for disk space (said once in its history)."""
    release(row, learned)
    if row.canceled_at is None:
        if row.last_error_code != code:
            record("waiting_for_space", message, code=code)
        row.phase = Phase.QUEUED.value
        row.retry_next_at = until
    row.last_error_code = code
    row.last_error_message = message


def fail(
    row: Download | StoredJob,
    learned: Learned,
    record: Record,
    failure: Failure,
    retry: Callable[[int], float | None] | None,
    now: datetime,
) -> bool:
    """The job failed: it is retried later if ``retry`` gives a delay for its attempt, else it
    has failed for good (True: the store keeps its error log)."""
    release(row, learned)
    row.last_error_code = failure.code
    row.last_error_message = failure.message
    if row.canceled_at is not None:
        return False
    if retry is not None and (delay := retry(row.retry_attempt)) is not None:
        row.retry_attempt += 1
        row.retry_next_at = now + timedelta(seconds=delay)
        row.phase = Phase.QUEUED.value
        record(
            "retry_scheduled",
            failure.message,
            code=failure.code,
            attempt=row.retry_attempt,
            delay=round(delay, 1),
        )
        return False
    row.phase = Phase.FAILED.value
    row.failed_at = now
    record("failed", failure.message, code=failure.code)
    return True
