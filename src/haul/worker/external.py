"""Downloads held by external clients: handing them over (:mod:`haul.worker.handover`) and
watching them to the end (:mod:`haul.worker.monitor`), both over a
:class:`~haul.store.jobs.HandoffStore`. :class:`ExternalClients` is the one the worker's
loops and a job's hand-over are given."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from haul.clients.directory import ClientDirectory
from haul.net.guard import AddressPolicy
from haul.store.jobs import HandoffStore
from haul.store.models import Download
from haul.worker.client_files import saved_inside
from haul.worker.context import IptvStreams
from haul.worker.handover import Fail, Handovers, Publish
from haul.worker.monitor import Monitor

__all__ = ["ExternalClients", "ExternalConfig", "saved_inside"]


@dataclass
class ExternalConfig:
    root: Path  # where clients are told to save (the download root)
    monitor_interval: float = 1.0
    #: What a torrent's trackers and web seeds may resolve to (None: unchecked).
    addresses: AddressPolicy | None = None
    #: Whether an anonymous visitor's .torrent URL may go to a torrent client.
    visitor_torrents: bool = True
    #: How long looking up one tracker's host name may take (seconds).
    lookup_timeout: float = 5.0
    #: The folder under the root an owner's files go to ("": the root itself).
    owner_folder: Callable[[str], Awaitable[str]] | None = None
    #: The per-owner speed limit in force: an item starts under it (and its own limit) until
    #: the monitor's next pass gives it its part of it.
    owner_limit: Callable[[], int | None] = lambda: None


class ExternalClients:
    """The hand-over to external clients and their monitor, built from one configuration."""

    def __init__(
        self,
        store: HandoffStore,
        directory: ClientDirectory,
        http: httpx.AsyncClient,
        config: ExternalConfig,
        *,
        publish: Publish,
        fail: Fail,
        worker_id: str,
        processed: Callable[[int], None] | None = None,
        iptv: IptvStreams | None = None,
    ) -> None:
        self.config = config
        self.handovers = Handovers(
            store,
            directory,
            http,
            config,
            publish=publish,
            fail=fail,
            worker_id=worker_id,
            iptv=iptv,
        )
        self.monitoring = Monitor(
            store,
            directory,
            config.root,
            publish=publish,
            fail=fail,
            worker_id=worker_id,
            processed=processed,
        )

    async def handoff(self, row: Download, resolved: dict[str, Any]) -> bool:
        """Offer a source the built-in engine resolved; True when an external client took it."""
        return await self.handovers.handoff(row, resolved)

    async def dispatch(self) -> int:
        """One pass: hand every admitted download meant for an external client to it."""
        return await self.handovers.dispatch()

    async def monitor(self) -> int:
        """One pass over every download external clients hold; returns how many changed."""
        return await self.monitoring.monitor()

    async def aclose(self, timeout: float = 5.0) -> None:
        """Let hand-overs in flight finish (or give their leases back on cancel)."""
        await self.handovers.aclose(timeout)
