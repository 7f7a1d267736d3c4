"""The one interface every download client speaks: the built-in engine, aria2, torrent clients.

A client is the source of truth for the live state of what it holds. haul asks it in bulk
(:meth:`DownloadClient.items`, one call per client per list) and never stores the answer.

Beyond :class:`DownloadClient`, an adapter may have optional capabilities, each a protocol
checked with ``isinstance``: :class:`ListsFiles`, :class:`Closable`, :class:`JudgesFailures`,
:class:`LimitsSpeed`, :class:`LimitsItemSpeed`. A client kind declares the ones its adapter
has (:mod:`haul.clients.kinds`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from haul.core.client_items import ClientItem
from haul.errors import ClientError


@dataclass(frozen=True, slots=True)
class ClientHealth:
    ok: bool
    error: str | None = None  # a sentence: what is wrong (refused, credentials, version)
    version: str | None = None
    code: str | None = None  # the error's code: client_unavailable, client_auth_failed, ...

    @classmethod
    def failed(cls, exc: ClientError) -> ClientHealth:
        return cls(False, exc.message, code=exc.code)


@dataclass(frozen=True, slots=True)
class AddRequest:
    """What haul asks a client to fetch."""

    download_id: int
    url: str
    dest_dir: Path
    torrent: bytes | None = None
    paused: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    #: The item's own download speed limit from its start (bytes per second; None: none), for
    #: a client that :class:`LimitsItemSpeed`.
    speed_limit: int | None = None
    #: The id haul recorded for this download before asking (a torrent's info-hash): an item
    #: the client already holds under it is haul's, whatever its label (an earlier add that
    #: a crash cut short before the label was set or saved).
    recorded_ref: str | None = None


@runtime_checkable
class DownloadClient(Protocol):
    """A download client. Every method may raise :class:`~haul.errors.ClientError`."""

    name: str
    kind: str

    async def add(self, request: AddRequest) -> str:
        """Hand a transfer to the client; returns the client's id for it."""
        ...

    async def items(self, refs: Collection[str] | None = None) -> dict[str, ClientItem]:
        """Live snapshots in one bulk call; ``refs`` narrows it, None means all of haul's."""
        ...

    async def pause(self, ref: str) -> None: ...

    async def resume(self, ref: str) -> None: ...

    async def remove(self, ref: str, *, delete_data: bool) -> None: ...

    async def health(self) -> ClientHealth: ...


@runtime_checkable
class ListsFiles(Protocol):
    """A client that lists the files of an item on demand (its bulk snapshot may leave them out)."""

    async def files(self, ref: str) -> Sequence[str]: ...


@runtime_checkable
class Closable(Protocol):
    """A client that holds connections, to be closed when haul lets it go."""

    async def aclose(self) -> None: ...


@runtime_checkable
class LimitsSpeed(Protocol):
    """A client with a global download speed limit of its own, which haul sets."""

    async def set_speed_limit(self, rate: int | None) -> None:
        """Set the client's global download speed limit (bytes per second; None: none)."""
        ...


@runtime_checkable
class LimitsItemSpeed(Protocol):
    """A client with a download speed limit per item, which haul sets (a download's own
    limit, its part of its owner's)."""

    async def set_item_speed_limits(self, limits: Mapping[str, int | None]) -> None:
        """Set the download speed limit of each item of ``limits`` (its ref: bytes per
        second; None: none). An item the client no longer holds is passed over."""
        ...


@runtime_checkable
class JudgesFailures(Protocol):
    """A client whose errors say whether a failed item met a passing problem, worth a retry."""

    def failure_passes(self, item: ClientItem) -> bool: ...
