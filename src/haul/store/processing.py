"""The processing store: what the processing step reads and writes, by name.

A download whose client has finished is in phase ``processing``, leased to the worker that
recorded it (which processes it at once). One whose worker died meanwhile has no lease and is
taken by any worker. Processing ends in one write per download: the files' records, the
download's new file list, its phase ``completed`` (the lifecycle's ``complete``), and its
history. :class:`~haul.store.sql_processing.SqlProcessingStore` keeps them in the database,
:class:`~haul.store.memory_processing.MemoryProcessingStore` beside the in-memory job store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from haul.core.media_items import Subject

__all__ = ["Finished", "Job", "ProcessingStore"]


@dataclass(frozen=True, slots=True)
class Job:
    """What processing needs of one download."""

    id: int
    owner_key: str
    title: str | None
    source_url: str
    client: str | None
    client_held: bool  # the client still has the item (it may be seeding from the files)
    files: list[dict[str, Any]]
    media_id: int | None
    subject: Subject | None
    profile: str | None
    completed_at: datetime | None
    error_code: str | None
    error_message: str | None


@dataclass(frozen=True, slots=True)
class Finished:
    """The outcome of processing one download, to write in one go."""

    download_id: int
    worker_id: str
    files: list[dict[str, Any]]
    records: list[dict[str, Any]]  # MediaFile column values
    #: kind, message, data: what processing told (the lifecycle's ``completed`` follows)
    events: list[tuple[str, str | None, dict[str, Any]]]
    error_code: str | None = None
    error_message: str | None = None


class ProcessingStore(Protocol):
    async def waiting(self, limit: int) -> list[int]:
        """Downloads to process that no live worker holds (at most ``limit``, oldest first)."""
        ...

    async def take(self, ids: Sequence[int], worker_id: str) -> list[int]:
        """Lease what is still unheld of ``ids`` to ``worker_id``; returns what it got."""
        ...

    async def jobs(self, ids: Sequence[int], worker_id: str) -> list[Job]:
        """The downloads of ``ids`` this worker holds and that still wait to be processed."""
        ...

    async def finish(self, done: Sequence[Finished]) -> list[bool]:
        """Record each of ``done`` (in one transaction): the lifecycle's ``complete``, made
        for the download as its worker holds it (processing, leased to it, not canceled) and
        written only if it still is. False for one that no longer is (canceled or deleted
        meanwhile): nothing of it is written."""
        ...
