"""External clients on fakes: a :class:`~haul.clients.fake.FakeClient` configured as a
download client, the in-memory job store, and the hand-over and monitor over them, wired as
the runtime wires them (a failure goes through :class:`~haul.worker.outcomes.Outcomes`)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import httpx

from haul.clients.directory import ClientDirectory
from haul.clients.fake import FakeClient
from haul.core import tracking
from haul.core.client_items import ClientItem
from haul.core.client_specs import ClientSpec
from haul.core.retry import RetryPolicy
from haul.store.jobs import WorkerInfo
from haul.store.memory import MemoryJobStore
from haul.store.memory_handoffs import MemoryHandoffStore
from haul.store.memory_state import StoredJob
from haul.store.models import Download, utcnow
from haul.worker.context import JobContext
from haul.worker.external import ExternalClients, ExternalConfig
from haul.worker.outcomes import Outcomes

WORKER = "w1"


class Clock:
    """The directory's clock: a client's backoff passes when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Clients:
    """One process's external clients over fakes; ``clients[name]`` is the fake behind it."""

    def __init__(self, root: Path, *, attempts: int = 5) -> None:
        self.root = root
        self.jobs = MemoryJobStore(worker_id=WORKER)
        self.state = self.jobs.state
        self.clock = Clock()
        self.clients: dict[str, FakeClient] = {}
        self.directory = ClientDirectory(FakeClient("builtin"), build=self._build, clock=self.clock)
        self.published: list[Download] = []
        self.processed: list[int] = []
        self.http = httpx.AsyncClient()
        retry = RetryPolicy(max_attempts=attempts, base_delay=1.0, jitter=0.0)
        # A failure's outcome reads only the store, the retry policy and the publisher.
        context = JobContext(
            jobs=self.jobs,
            builtin=None,
            live=None,
            direct=None,
            media=None,
            retry=lambda: retry,
            publish=self._publish,
            profiles=None,
        )
        self.external = ExternalClients(
            MemoryHandoffStore(self.jobs),
            self.directory,
            self.http,
            ExternalConfig(root=root),
            publish=self._publish,
            fail=Outcomes(context).failed,
            worker_id=WORKER,
            processed=self.processed.append,
        )
        self.fakes: dict[str, type[FakeClient]] = {}

    def _build(self, spec: ClientSpec) -> FakeClient:
        client = self.fakes.get(spec.name, FakeClient)(spec.name)
        self.clients[spec.name] = client
        return client

    async def _publish(self, row: Download) -> None:
        self.published.append(row)

    async def configure(self, *specs: ClientSpec) -> None:
        await self.directory.apply(specs)

    async def start(self) -> None:
        await self.jobs.register_worker(WorkerInfo(WORKER, "host", 1))

    async def aclose(self) -> None:
        await self.external.aclose()
        await self.http.aclose()

    def admitted(self, client: str, **fields: Any) -> StoredJob:
        """A download admitted for ``client``, waiting for its hand-over."""
        return self.state.add(
            "alice", client=client, phase="admitted", admitted_at=utcnow(), **fields
        )

    async def held(self, client: str, **fields: Any) -> StoredJob:
        """A download ``client`` holds (added to it now), active."""
        job = self.admitted(client, **fields)
        await self.dispatch()
        assert job.phase == "active", job
        return job

    async def dispatch(self) -> int:
        """One hand-over pass, and the hand-overs it started, to their end."""
        taken = await self.external.dispatch()
        await self.external.aclose()
        return taken

    def item(self, job: StoredJob) -> ClientItem | None:
        return self.clients[str(job.client)].store.get(str(job.client_ref))

    def set_item(self, job: StoredJob, **changes: Any) -> None:
        item = self.item(job)
        assert item is not None
        self.clients[str(job.client)].store[item.ref] = dataclasses.replace(item, **changes)

    def seen(self, job: StoredJob) -> tracking.Tracked:
        """What a user sees of the download: its row joined with its client's item."""
        item = self.item(job) if job.client in self.clients else None
        return tracking.track(job.row(), item)

    def history(self, job: StoredJob) -> list[str]:
        return self.state.history(job.id)


def spec(name: str = "qbit", kind: str = "qbittorrent", **changes: Any) -> ClientSpec:
    base = ClientSpec(name=name, kind=kind, url="http://127.0.0.1:1", timeout=1.0)
    return dataclasses.replace(base, **changes)


MAGNET = "magnet:?xt=urn:btih:" + "c" * 40
