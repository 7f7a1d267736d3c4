"""The status vocabulary every interface speaks, and the durable phase behind it.

``Status`` is what a person sees. Most of it is live state read from a client when asked; the
database stores only the ``Phase``: where a download is in haul's own lifecycle (waiting for a
slot, handed to a client, being processed, finished). :func:`haul.core.tracking.track` joins
the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from haul.errors import InputError


class Status(StrEnum):
    QUEUED = "queued"  # waiting for admission or a slot
    RESOLVING = "resolving"  # working out what the source is
    DOWNLOADING = "downloading"
    PAUSED = "paused"
    CHECKING = "checking"
    SEEDING = "seeding"
    PROCESSING = "processing"  # probe, import, notify
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"
    MISSING = "missing"  # the client does not know the item
    UNKNOWN = "unknown"  # the client cannot be reached


#: Every status, in the order of the lifecycle.
STATUS_NAMES: tuple[str, ...] = tuple(s.value for s in Status)


class Phase(StrEnum):
    """haul's own durable position of a download in the lifecycle."""

    QUEUED = "queued"  # stored, not admitted: holds no slot
    ADMITTED = "admitted"  # holds a slot, being resolved
    ACTIVE = "active"  # handed to a client, which owns its live state
    PROCESSING = "processing"  # the client finished; haul probes and files what arrived
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"
    PARENT = "parent"  # a playlist whose children carry the work


#: Phases that hold an admission slot. Processing (probe, import) holds none: the transfer is
#: over, and the next download should not wait for a copy into the library.
SLOT_PHASES = frozenset({Phase.ADMITTED, Phase.ACTIVE})
#: Phases a download never leaves on its own.
TERMINAL_PHASES = frozenset({Phase.COMPLETED, Phase.FAILED, Phase.CANCELED})
#: Phases of a download that is still wanted and not finished.
OPEN_PHASES = frozenset({Phase.QUEUED, Phase.ADMITTED, Phase.ACTIVE, Phase.PROCESSING})


#: The status of a phase when no client is asked. An active download's status is what its
#: client says; counted without asking (a playlist's children), it is downloading.
PHASE_STATUS: dict[Phase, Status] = {
    Phase.QUEUED: Status.QUEUED,
    Phase.ADMITTED: Status.RESOLVING,
    Phase.ACTIVE: Status.DOWNLOADING,
    Phase.PROCESSING: Status.PROCESSING,
    Phase.COMPLETED: Status.COMPLETED,
    Phase.FAILED: Status.FAILED,
    Phase.CANCELED: Status.CANCELED,
    Phase.PARENT: Status.QUEUED,
}


#: The phases whose rows can show each status (the inverse of :data:`PHASE_STATUS` joined with
#: what clients report): a list filtered by status reads only these rows.
STATUS_PHASES: dict[str, list[str]] = {
    Status.QUEUED: [Phase.QUEUED, Phase.PARENT, Phase.ACTIVE],  # active: held by the schedule
    Status.RESOLVING: [Phase.ADMITTED, Phase.PARENT],
    Status.PAUSED: [Phase.QUEUED, Phase.ADMITTED, Phase.ACTIVE],
    Status.PROCESSING: [Phase.PROCESSING, Phase.ACTIVE],
    Status.COMPLETED: [Phase.COMPLETED, Phase.PARENT],
    Status.FAILED: [Phase.FAILED, Phase.PARENT],
    Status.CANCELED: [Phase.CANCELED, Phase.ACTIVE],
}


def statuses_asked(values: Sequence[str]) -> list[str]:
    """The statuses a list is filtered by, from what a person gave (``failed``, or several
    in one value: ``queued,failed``); InputError naming the valid ones for any other word."""
    asked = [s.strip() for value in values for s in value.split(",") if s.strip()]
    unknown = [s for s in asked if s not in STATUS_NAMES]
    if unknown:
        which = ", ".join(repr(s[:40]) for s in unknown[:3])
        raise InputError(
            f"haul knows no status {which}; a status is one of: {', '.join(STATUS_NAMES)}."
        )
    return asked


def phases_for(statuses: Sequence[str]) -> list[str] | None:
    """The phases whose rows can have one of ``statuses`` (None: no narrowing possible)."""
    if not statuses:
        return None
    phases: set[str] = set()
    for status in statuses:
        phases.update(STATUS_PHASES.get(status, [Phase.ACTIVE, Phase.PARENT]))
    return [str(p) for p in phases]


def phase_status(phase: str, paused: bool) -> str:
    """A child's status for its playlist's counts (read from the row, no client asked)."""
    if paused and phase in (Phase.QUEUED, Phase.ADMITTED, Phase.ACTIVE):
        return Status.PAUSED
    return PHASE_STATUS[Phase(phase)]
