"""What :class:`~haul.store.memory.MemoryJobStore` keeps: downloads, workers and history, as
plain records (the columns the job store reads and writes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from haul.core.media_items import Subject
from haul.core.status import Phase
from haul.store.models import Download, utcnow


@dataclass
class StoredJob:
    """One download, as the job store sees it."""

    id: int
    owner_key: str
    source_url: str = "https://example.invalid/file"
    title: str | None = None
    profile_id: int | None = None
    media_id: int | None = None
    parent_id: int | None = None
    playlist_index: int | None = None
    dedupe_key: str = ""
    client: str | None = None
    client_ref: str | None = None
    client_released_at: datetime | None = None
    phase: str = Phase.QUEUED.value
    queue_rank: int = 0
    priority: int = 0
    desired_paused: bool = False
    canceled_at: datetime | None = None
    cancel_delete_partial: bool = False
    retry_attempt: int = 0
    retry_next_at: datetime | None = None
    last_error_code: str | None = None
    last_error_message: str | None = None
    lease_worker_id: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    admitted_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    failed_at: datetime | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    files: list[Any] = field(default_factory=list)
    #: A torrent's .torrent, kept by its hand-over to a client.
    source_blob: bytes | None = None
    #: The format and audio the download chose over its profile's.
    format: str | None = None
    audio_format: str | None = None
    audio_quality: str | None = None
    speed_limit: int | None = None

    def row(self) -> Download:
        """The download as the SQL store gives it out (a row no session holds)."""
        return Download(
            id=self.id,
            owner_key=self.owner_key,
            source_url=self.source_url,
            dedupe_key=self.dedupe_key,
            title=self.title,
            profile_id=self.profile_id,
            media_id=self.media_id,
            parent_id=self.parent_id,
            playlist_index=self.playlist_index,
            client=self.client,
            client_ref=self.client_ref,
            client_released_at=self.client_released_at,
            phase=self.phase,
            queue_rank=self.queue_rank,
            priority=self.priority,
            desired_paused=self.desired_paused,
            canceled_at=self.canceled_at,
            cancel_delete_partial=self.cancel_delete_partial,
            retry_attempt=self.retry_attempt,
            retry_next_at=self.retry_next_at,
            last_error_code=self.last_error_code,
            last_error_message=self.last_error_message,
            lease_worker_id=self.lease_worker_id,
            created_at=self.created_at,
            admitted_at=self.admitted_at,
            started_at=self.started_at,
            completed_at=self.completed_at,
            failed_at=self.failed_at,
            meta=dict(self.meta),
            files=list(self.files),
            source_blob=self.source_blob,
            format=self.format,
            audio_format=self.audio_format,
            audio_quality=self.audio_quality,
            speed_limit=self.speed_limit,
        )


@dataclass
class StoredWorker:
    id: str
    hostname: str
    pid: int
    heartbeat_at: datetime


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One entry of a download's history."""

    download_id: int
    at: datetime
    kind: str
    message: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoredError:
    """An entry of the error log (a download that failed for good)."""

    download_id: int
    domain: str | None
    error_code: str
    message: str
    media_type: str | None


@dataclass(frozen=True, slots=True)
class StoredUnsupported:
    """A source haul cannot fetch."""

    url: str
    domain: str
    error: str
    owner_key: str | None


@dataclass
class MemoryState:
    """Everything the in-memory store holds."""

    jobs: dict[int, StoredJob] = field(default_factory=dict)
    workers: dict[str, StoredWorker] = field(default_factory=dict)
    events: list[StoredEvent] = field(default_factory=list)
    errors: list[StoredError] = field(default_factory=list)
    unsupported: list[StoredUnsupported] = field(default_factory=list)
    #: Probe records of finished files (download id, record).
    media_files: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    #: Media items as processing files them (item id: what it is), and profile names by id.
    subjects: dict[int, Subject] = field(default_factory=dict)
    profiles: dict[int, str] = field(default_factory=dict)
    next_id: int = 1

    def event(self, download_id: int, kind: str, message: str | None = None, **data: Any) -> None:
        self.events.append(StoredEvent(download_id, utcnow(), kind, message, data))

    def add(self, owner_key: str, **fields: Any) -> StoredJob:
        job = StoredJob(self.next_id, owner_key, **fields)
        self.next_id += 1
        self.jobs[job.id] = job
        return job

    def history(self, download_id: int) -> list[str]:
        return [e.kind for e in self.events if e.download_id == download_id]
