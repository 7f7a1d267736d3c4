"""Transmission torrent status (0-6) and error fields to haul's status (pure).

``status`` is 0 stopped, 1 queued to check, 2 checking, 3 queued to download,
4 downloading, 5 queued to seed, 6 seeding. A stopped torrent that has all its data is
complete, otherwise paused. ``error`` is 0 none, 1 tracker warning, 2 tracker error (both
recoverable: a message on a live item), 3 local error (the transfer failed), with
``errorString`` saying what.
"""

from __future__ import annotations

import logging

from haul.core.status import Status

log = logging.getLogger(__name__)

STATUS: dict[int, Status] = {
    0: Status.PAUSED,
    1: Status.CHECKING,
    2: Status.CHECKING,
    3: Status.QUEUED,
    4: Status.DOWNLOADING,
    5: Status.SEEDING,
    6: Status.SEEDING,
}
MESSAGES: dict[int, str] = {1: "waiting to check the data", 5: "queued for seeding"}

TRACKER_WARNING, TRACKER_ERROR, LOCAL_ERROR = 1, 2, 3

_warned: set[int] = set()


def map_status(
    status: int, *, done: bool, error: int = 0, error_string: str = ""
) -> tuple[Status, str | None]:
    """haul's status and message for one torrent; ``done`` is Transmission's percentDone == 1
    (or ``isFinished``)."""
    if error == LOCAL_ERROR:
        return Status.FAILED, error_string or "Transmission reported a local error"
    mapped = STATUS.get(status)
    if mapped is None:
        if status not in _warned:
            _warned.add(status)
            log.warning("unknown Transmission status %r; shown as unknown", status)
        return Status.UNKNOWN, f"unknown Transmission status {status!r}"
    if mapped is Status.PAUSED and done:
        mapped = Status.COMPLETED
    message = MESSAGES.get(status)
    if error in (TRACKER_WARNING, TRACKER_ERROR):
        kind = "tracker warning" if error == TRACKER_WARNING else "tracker error"
        message = f"{kind}: {error_string}" if error_string else kind
    return mapped, message
