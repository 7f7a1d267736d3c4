"""The values the download service hands to every interface."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from haul.core.owners import is_anonymous
from haul.core.tracking import Tracked


@dataclass(frozen=True, slots=True)
class Owner:
    key: str = "local"
    user_id: int | None = None
    session_id: str | None = None
    ip: str | None = None
    is_admin: bool = True
    #: Unfinished downloads this owner may have (an account's own limit, or a visitor's).
    limit: int | None = None
    #: Anonymous visitors (public mode): unfinished downloads one IP address may have, all of
    #: its visitors together; set only for them, and it makes their limits strict (refused,
    #: never queued, paused ones counted).
    ip_limit: int | None = None

    @property
    def anonymous(self) -> bool:
        """An anonymous visitor of a public instance (not an account, not the local user)."""
        return is_anonymous(self.key)


@dataclass(frozen=True, slots=True)
class ClientState:
    name: str
    ok: bool
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Tracked]
    next_cursor: str | None
    clients: list[ClientState]


@dataclass(frozen=True, slots=True)
class Totals:
    """What is moving now, over all of an owner's downloads (not one page of them)."""

    active: int  # resolving, downloading, checking or processing
    queued: int
    paused: int
    seeding: int
    speed: float  # bytes per second, all transfers together
    clients: list[ClientState]


_TRACKED_FIELDS = tuple(f.name for f in fields(Tracked))


def to_json(t: Tracked) -> dict[str, Any]:
    """The JSON form of a tracked download. Shallow on purpose: it runs for every list row
    and every event, and nothing here is mutated afterwards (``asdict`` deep-copied the file
    lists, the largest cost of a busy server)."""
    data = {name: getattr(t, name) for name in _TRACKED_FIELDS}
    for key in ("created_at", "completed_at", "retry_at"):
        value = data[key]
        if isinstance(value, datetime):
            data[key] = value.isoformat()
    data["status"] = t.status.value
    return data
