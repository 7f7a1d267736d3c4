"""qBittorrent torrent states to haul's status (pure; 4.x and 5.x names).

qBittorrent 5 renamed ``pausedDL``/``pausedUP`` to ``stoppedDL``/``stoppedUP``; both are
here. A recoverable complaint (stalled, a file move in progress) is a message on a live item,
not a failure. Anything not in the table maps to ``unknown`` with one warning per value.
"""

from __future__ import annotations

import logging

from haul.core.status import Status

log = logging.getLogger(__name__)

#: state -> (status, message shown beside it)
STATES: dict[str, tuple[Status, str | None]] = {
    "downloading": (Status.DOWNLOADING, None),
    "forcedDL": (Status.DOWNLOADING, None),
    "metaDL": (Status.DOWNLOADING, "fetching the torrent's metadata"),
    "forcedMetaDL": (Status.DOWNLOADING, "fetching the torrent's metadata"),
    "allocating": (Status.DOWNLOADING, "allocating disk space"),
    "stalledDL": (Status.DOWNLOADING, "stalled: no peer is sending data"),
    "queuedDL": (Status.QUEUED, None),
    "checkingDL": (Status.CHECKING, None),
    "checkingUP": (Status.CHECKING, None),
    "checkingResumeData": (Status.CHECKING, "checking resume data"),
    "pausedDL": (Status.PAUSED, None),
    "stoppedDL": (Status.PAUSED, None),
    "pausedUP": (Status.COMPLETED, None),
    "stoppedUP": (Status.COMPLETED, None),
    "uploading": (Status.SEEDING, None),
    "forcedUP": (Status.SEEDING, None),
    "stalledUP": (Status.SEEDING, "seeding, no peer is downloading"),
    "queuedUP": (Status.SEEDING, "queued for seeding"),
    "moving": (Status.PROCESSING, "the client is moving the files"),
    "error": (Status.FAILED, "the client reported an error"),
    "missingFiles": (Status.FAILED, "the torrent's files are missing on disk"),
    "unknown": (Status.UNKNOWN, "the client does not know the torrent's state"),
}

_warned: set[str] = set()


def map_state(state: str) -> tuple[Status, str | None]:
    """haul's status for a qBittorrent state, and a message to show beside it."""
    found = STATES.get(state)
    if found is not None:
        return found
    if state not in _warned:
        _warned.add(state)
        log.warning("unknown qBittorrent state %r; shown as unknown", state)
    return Status.UNKNOWN, f"unknown qBittorrent state {state!r}"
