"""Which finished downloads have been kept long enough (pure).

A download expires when it is finished (completed, failed or canceled; a playlist once its
children are gone), nothing is working on it (no worker lease; an external client that still
holds its item says the item is done, stopped or gone: a torrent that seeds, or whose client
cannot be asked, is kept) and it finished longer ago than its owner's age: ``anonymous_days``
for anonymous browser sessions, ``days`` for everyone else (accounts, the local user). An age
of None keeps downloads forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from haul.core.owners import is_anonymous
from haul.core.routing import BUILTIN
from haul.core.status import TERMINAL_PHASES, Phase, Status

#: Phases a download can expire in (a playlist parent only once it has no children left).
EXPIRING_PHASES = frozenset({*TERMINAL_PHASES, Phase.PARENT})
#: Live states of an external client's item that let its download go: it moves and serves
#: nothing (seeding, checking, unknown keep it).
RELEASABLE = frozenset(
    {Status.COMPLETED, Status.PAUSED, Status.FAILED, Status.CANCELED, Status.MISSING}
)


@dataclass(frozen=True, slots=True)
class RetentionAges:
    """How long finished downloads are kept, in days (None: forever)."""

    days: float | None = None
    anonymous_days: float | None = 1.0

    def for_owner(self, owner_key: str) -> float | None:
        return self.anonymous_days if is_anonymous(owner_key) else self.days


@dataclass(frozen=True, slots=True)
class Finished:
    """What the decision needs to know of a download row."""

    id: int
    owner_key: str
    phase: str
    created_at: datetime
    completed_at: datetime | None = None
    failed_at: datetime | None = None
    canceled_at: datetime | None = None
    lease_worker_id: str | None = None
    client: str | None = None
    client_ref: str | None = None
    client_released_at: datetime | None = None
    has_children: bool = False

    @classmethod
    def of(cls, row: Any, *, has_children: bool = False) -> Finished:
        """From anything with the same attribute names (an ORM row, a column row)."""
        return cls(
            row.id,
            row.owner_key,
            row.phase,
            row.created_at,
            row.completed_at,
            row.failed_at,
            row.canceled_at,
            row.lease_worker_id,
            row.client,
            row.client_ref,
            row.client_released_at,
            has_children,
        )


def finished_at(row: Finished) -> datetime:
    """When the download reached its final phase (its creation when that was not recorded)."""
    moment = {
        Phase.COMPLETED: row.completed_at,
        Phase.FAILED: row.failed_at,
        Phase.CANCELED: row.canceled_at,
    }.get(Phase(row.phase))
    return moment or row.created_at


def held_by_client(row: Finished) -> bool:
    """Whether an external client still holds the item (maybe seeding, or a removal owed)."""
    return bool(row.client and row.client != BUILTIN and row.client_ref) and (
        row.client_released_at is None
    )


def cutoff(days: float | None, now: datetime) -> datetime | None:
    """Downloads finished before this moment are expired (None: none ever is)."""
    return None if days is None else now - timedelta(days=days)


def expired(row: Finished, ages: RetentionAges, now: datetime, live: Status | None = None) -> bool:
    """Whether ``row`` has been kept long enough at ``now``; ``live``: the state its external
    client reports of its item, when it holds one (None: not known)."""
    if row.phase not in EXPIRING_PHASES:
        return False
    if row.has_children or row.lease_worker_id is not None:
        return False
    if held_by_client(row) and live not in RELEASABLE:
        return False
    before = cutoff(ages.for_owner(row.owner_key), now)
    return before is not None and finished_at(row) < before


@dataclass(frozen=True, slots=True)
class Gone:
    """One download a run removed (or, dry, would remove): its id, its name, the bytes its
    files free and the files themselves."""

    id: int
    name: str
    freed_bytes: int
    files: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "freed_bytes": self.freed_bytes,
            "files": list(self.files),
        }


@dataclass(frozen=True, slots=True)
class Report:
    """What one run did (or, dry, would do); a dry run lists the downloads too."""

    removed: int
    freed_bytes: int
    files: int
    dry_run: bool
    ran_at: datetime
    seconds: float = 0.0
    downloads: tuple[Gone, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "removed": self.removed,
            "freed_bytes": self.freed_bytes,
            "files": self.files,
            "dry_run": self.dry_run,
            "ran_at": self.ran_at.isoformat(),
            "seconds": round(self.seconds, 3),
            "downloads": [d.as_json() for d in self.downloads],
        }
