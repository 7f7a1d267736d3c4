"""The job store: what the worker asks of the place downloads are kept, by name.

The worker admits queued downloads into free slots, leases admitted built-in jobs, keeps its
leases alive, gives back what it no longer runs, returns the jobs of dead workers to the queue
and follows the state users want for running jobs. Each of those is one operation here, with
plain values in and out, so that the worker's decisions can be tested against
:class:`~haul.store.memory.MemoryJobStore` and run against
:class:`~haul.store.sql_jobs.SqlJobStore` (SQLite and PostgreSQL).

Admission and claims run together in one transaction (:meth:`JobStore.admission`): the
function given to it gets a :class:`JobTransaction` and must not touch the event loop (on the
SQL store it runs in the database thread).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from haul.core.admission import Limits
from haul.store.downloads import QueueState
from haul.store.models import Download

T = TypeVar("T")

__all__ = [
    "Completion",
    "DesiredState",
    "Failure",
    "Handed",
    "HandoffStore",
    "Handover",
    "JobStore",
    "JobTransaction",
    "Learned",
    "PlaylistEntry",
    "QueueState",
    "Recorded",
    "Successor",
    "Watched",
    "WorkerInfo",
]


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """A running worker, as its heartbeat last recorded it."""

    id: str
    hostname: str
    pid: int
    heartbeat_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DesiredState:
    """What users want of a running job: paused, or gone (canceled or deleted), or a live
    recording ended with what it recorded (``finish``)."""

    paused: bool
    canceled: bool
    finish: bool = False
    #: The download's own speed limit (bytes per second; None: none), followed live.
    speed_limit: int | None = None


@dataclass(frozen=True, slots=True)
class Learned:
    """What an attempt learned of its source, kept for the next one: what it resolved to
    (``meta["resolved"]``) and its title (kept only where the download has none)."""

    resolved: dict[str, Any] | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Failure:
    """Why an attempt failed, as the download's history and the error log record it."""

    code: str
    message: str
    source_url: str
    owner_key: str
    #: The source is of a kind haul cannot fetch (kept in the list of unsupported sources).
    unsupported: bool = False


@dataclass(frozen=True, slots=True)
class PlaylistEntry:
    """One entry of a playlist page, queued as a child of its download."""

    source_url: str
    dedupe_key: str
    title: str | None
    #: Its index in the playlist when it is fetched through the page (no URL of its own).
    playlist_index: int | None


class JobTransaction(Protocol):
    """Admission and claims inside one transaction (see :meth:`JobStore.admission`)."""

    def admit_waiting(self, limits: Limits, *, now: datetime | None = None) -> list[int]:
        """Admit queued downloads into free slots, in fair (rank, id) order, under the global,
        per-owner and per-client limits; returns their ids (history: ``admitted``)."""
        ...

    def claim(self, worker_id: str, limit: int) -> list[Download]:
        """Lease up to ``limit`` admitted built-in jobs to ``worker_id`` and record that they
        start (phase active on the built-in client; history ``started`` or ``resumed``); the
        jobs come back as they now are."""
        ...


@dataclass(frozen=True, slots=True)
class Successor(Generic[T]):
    """What follows a completion: the worker admits and leases the next jobs in its transaction
    (:attr:`within`, off the loop, after every completion of the batch is written)
    and starts them as soon as it commits (:attr:`committed`, on the loop, before anyone is
    told of the completion: telling subscribers takes a few turns of a busy loop)."""

    within: Callable[[JobTransaction], T]
    committed: Callable[[T], None] | None = None
    #: Called (on the loop) when the transaction :attr:`within` ran in failed: what it
    #: prepared for a commit that did not happen is undone.
    rolled_back: Callable[[], None] | None = None


@dataclass(frozen=True, slots=True)
class Completion:
    """One finished download to record (``files``, ``title`` and ``meta`` replace the row's)."""

    download_id: int
    files: list[dict[str, Any]]
    title: str | None
    meta: dict[str, Any]
    at: datetime
    successor: Successor[Any] | None = None
    #: The files' probe records when they were probed already (no import waits): then the
    #: download is completed by this write, with them; else it is left to the processing step.
    records: list[dict[str, Any]] | None = None
    events: Sequence[tuple[str, str | None, dict[str, Any]]] = ()


@dataclass(frozen=True, slots=True)
class Recorded:
    """What the row became (a cancel that raced the end keeps its phase), and what the
    completion's successor returned."""

    phase: str
    completed_at: datetime | None
    canceled_at: datetime | None
    lease_worker_id: str | None
    follow: object


class JobStore(Protocol):
    """The operations of the worker on stored downloads and workers."""

    async def register_worker(self, worker: WorkerInfo) -> None:
        """Record a worker that starts (its heartbeat is now)."""
        ...

    async def heartbeat(self, worker_id: str) -> None:
        """Renew the lease of ``worker_id`` on all its jobs."""
        ...

    async def workers(self) -> list[WorkerInfo]:
        """Every recorded worker."""
        ...

    async def transfers_by_worker(self) -> dict[str, dict[str, int]]:
        """How many built-in jobs each worker runs (by its lease) for each owner, for sharing
        the global and the per-owner speed limits between workers."""
        ...

    async def reap_workers(self, dead_ids: Iterable[str]) -> int:
        """Forget dead workers and return their jobs to the queue; returns jobs released."""
        ...

    async def queue_state(self, now: datetime) -> QueueState:
        """What the scheduler needs to know, read without taking the write lock."""
        ...

    async def admission(self, work: Callable[[JobTransaction], T]) -> T:
        """Run ``work`` in one write transaction holding the admission lock; its result."""
        ...

    async def desired_states(self, ids: Sequence[int]) -> dict[int, DesiredState]:
        """What users want of each job of ``ids``; a deleted one counts as canceled."""
        ...

    async def release_dropped(
        self, worker_id: str, ids: Collection[int], running: Callable[[int], bool]
    ) -> int:
        """Give back ``worker_id``'s leases on the built-in jobs of ``ids`` it no longer runs;
        a job paused meanwhile is queued, not left holding a slot. ``running`` is asked, in
        the same transaction, which jobs the worker runs again (they keep their lease).
        Returns how many were given back."""
        ...

    async def finished_ids(self, ids: Sequence[int]) -> set[int]:
        """Which downloads of ``ids`` are recorded as finished (processing or completed)."""
        ...

    async def stopped(self, download_id: int, learned: Learned, *, paused: bool) -> Download | None:
        """A job stopped (paused, canceled, shut down): its lease is given back; a pause
        (unless canceled meanwhile) queues it again (history ``paused``). Returns the row as
        written; None when the download is gone."""
        ...

    async def waiting_for_space(
        self, download_id: int, learned: Learned, message: str, code: str, until: datetime
    ) -> Download | None:
        """The disk is full: the job goes back to the queue until ``until`` (no retry spent);
        its history says so when the wait begins (``waiting_for_space``). Returns the row as
        written; None when the download is gone."""
        ...

    async def noted(self, download_id: int, kind: str, messages: Sequence[str]) -> None:
        """Add ``messages`` to the download's history, each an entry of ``kind``."""
        ...

    async def recording(self, download_id: int, learned: Learned, message: str) -> None:
        """A live stream is being recorded: what the source is (``learned``) is kept now, not
        at the attempt's end, so the download can be told to stop (history ``recording``)."""
        ...

    async def released(self, download_id: int, learned: Learned) -> None:
        """Give a job back (its task was cancelled): it may be leased again."""
        ...

    async def failed(
        self,
        download_id: int,
        learned: Learned,
        failure: Failure,
        retry: Callable[[int], float | None] | None,
        now: datetime,
    ) -> Download | None:
        """An attempt failed: unless canceled meanwhile, the job is queued again when
        ``retry`` gives a delay for the attempts made so far (history ``retry_scheduled``),
        else it fails for good (history ``failed``, the error log, and the list of
        unsupported sources when it is one). Returns the row as written; None when gone."""
        ...

    async def expand(
        self, parent_id: int, title: str | None, entries: Sequence[PlaylistEntry]
    ) -> Download:
        """A playlist page becomes a parent (phase ``parent``, its lease given back, ``title``
        where it has none) and its entries are queued as its children, behind what its owner
        queued (history ``created`` for each, ``expanded`` for the parent). Returns the
        parent as written."""
        ...

    async def complete(self, completion: Completion) -> Recorded:
        """Record a finished download: processing (its lease kept by the worker that records
        it, which files it next), or completed when its probe records come with it. A cancel
        that raced the end keeps its phase; a download finished already is left as it is
        (the write may be made again after a commit whose answer was lost). The successor's
        part runs in the same transaction; raises what the write raised."""
        ...


@dataclass(frozen=True, slots=True)
class Watched:
    """What the monitor needs of a download (columns only: it runs every second)."""

    id: int
    client: str
    client_ref: str
    phase: str
    desired_paused: bool
    cancel_delete_partial: bool
    resume_owed: bool
    owner_key: str
    speed_limit: int | None  # its own download speed limit (bytes per second)
    held: bool  # its item paused for a pause window of the speed schedule


@dataclass(frozen=True, slots=True)
class Handover:
    """A download an external client took, to record: its item there (``ref``), when it
    first started, the row's ``meta`` as it now is, and its .torrent when it has one (kept,
    so that a retry does not fetch it again). ``resumed``: the client still held the item
    from before and resumed it (history ``resumed``, else ``handed_over``)."""

    download_id: int
    client: str
    ref: str
    started_at: datetime
    meta: dict[str, Any]
    source_blob: bytes | None = None
    resumed: bool = False


@dataclass(frozen=True, slots=True)
class Handed:
    """What a recorded hand-over became: the download's phase (active; queued when paused
    meanwhile; its own when canceled meanwhile), or, when another unfinished download holds
    the same item on that client, that download's id (then nothing was written)."""

    phase: str | None
    held_by: int | None = None


class HandoffStore(Protocol):
    """What the hand-over to external clients and their monitor read and write of the
    downloads those clients hold."""

    async def claim_handoffs(
        self,
        worker_id: str,
        caps: Mapping[str, int | None],
        down: Collection[str],
        instead: Callable[[Download], str | None],
    ) -> list[Download]:
        """Lease to ``worker_id``, in one transaction, admitted downloads meant for external
        clients (oldest admission first), each client up to its room: ``caps`` less the
        downloads active on it (None: no cap); a client of ``down`` has no room. A download
        meant for a client not in ``caps`` is leased too (its client was removed or disabled:
        the caller routes it again). ``instead`` names another client for a download whose own
        is down; it moves there (history ``rerouted``) when that one has room."""
        ...

    async def give_back(self, download_id: int, worker_id: str) -> None:
        """Clear ``worker_id``'s lease on a download whose hand-over did not finish."""
        ...

    async def to_builtin(self, download_id: int) -> None:
        """No external client takes the download any more: the built-in engine runs it."""
        ...

    async def keep_meta(self, download_id: int, meta: dict[str, Any]) -> None:
        """Replace the download's ``meta`` (what a hand-over notes before the client adds)."""
        ...

    async def handed_over(self, handover: Handover) -> Handed:
        """Record that a client took a download (see :class:`Handover` and :class:`Handed`).
        A finished download that held the same item gives it up to this one."""
        ...

    async def watched(self, releasing: Collection[str]) -> list[Watched]:
        """What the monitor looks at: active downloads on external clients, paused ones (their
        item still on the client), canceled ones whose removal is owed, and finished ones on
        the clients of ``releasing`` (which remove finished items) not yet removed."""
        ...

    async def load(self, download_id: int) -> Download | None:
        """The whole download (None: deleted)."""
        ...

    async def released(self, download_id: int, message: str | None = None) -> None:
        """The download's item left its client (history ``released`` with ``message``)."""
        ...

    async def resumed(self, download_id: int) -> None:
        """A resume owed to the client was made."""
        ...

    async def schedule_held(self, download_id: int, held: bool, message: str) -> bool:
        """Mark the download's item as paused for a pause window of the speed schedule
        (``held``), or take the mark (:data:`~haul.core.bandwidth.HELD_MARK`) off; whether
        this changed it (only then history ``schedule`` with ``message``): of several
        workers doing it at once, one does."""
        ...

    async def client_finished(
        self,
        download_id: int,
        worker: str | None,
        at: datetime,
        files: list[dict[str, Any]],
        title: str | None,
        message: str,
        seeding: bool,
    ) -> bool:
        """The client finished the download: unless canceled or paused since, it is recorded
        finished (processing, leased to ``worker``, history ``downloaded``); whether it was."""
        ...
