"""The lifecycle of a download as code: which phase may follow which, and by what command.

A command takes a :class:`Snapshot` (the fields of a stored download its decision reads) and
returns the :class:`Change` to write (column updates and the history event to record), or
raises :class:`~haul.errors.InvalidTransition` (a conflict, 409 in the API) when the download
cannot take that step from where it is. Commands read no clock and write nothing: the caller
passes the time and applies the change inside its own transaction.

``docs/lifecycle.md`` shows :func:`markdown_table`; a unit test keeps the two equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from haul.core.status import OPEN_PHASES, Phase
from haul.errors import InvalidTransition

BUILTIN = "builtin"


class Command(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    RETRY = "retry"
    CANCEL = "cancel"
    STOP = "stop"
    ADMIT = "admit"
    CLAIM = "claim"
    HAND_OVER = "hand_over"
    EXPAND = "expand"
    PARK = "park"
    REQUEUE = "requeue"
    FAIL = "fail"
    FINISH = "finish"
    COMPLETE = "complete"
    REPROCESS = "reprocess"
    DEFER_REMOVAL = "defer_removal"


@dataclass(frozen=True, slots=True)
class Edge:
    command: Command
    source: Phase
    target: Phase
    #: When the command takes this edge rather than another of its own (empty: always).
    when: str = ""


_Q, _AD, _AC, _PR = Phase.QUEUED, Phase.ADMITTED, Phase.ACTIVE, Phase.PROCESSING
_C = Command

#: Every step a download may take, in the order the table is read.
EDGES: tuple[Edge, ...] = (
    Edge(_C.PAUSE, _Q, _Q),
    Edge(_C.PAUSE, _AD, _Q, "no worker holds it: the slot goes back"),
    Edge(_C.PAUSE, _AD, _AD, "a worker holds it and stops it"),
    Edge(_C.PAUSE, _AC, _Q, "on an external client, which keeps the paused item"),
    Edge(_C.PAUSE, _AC, _AC, "on the built-in client, whose worker stops it"),
    Edge(_C.PAUSE, _PR, _PR),
    Edge(_C.RESUME, _Q, _Q, "to the front of the queue"),
    Edge(_C.RESUME, _AD, _AD),
    Edge(_C.RESUME, _AC, _AC),
    Edge(_C.RESUME, _PR, _PR),
    Edge(_C.RETRY, Phase.FAILED, _Q),
    Edge(_C.RETRY, Phase.CANCELED, _Q),
    Edge(_C.RETRY, _Q, _Q, "an automatic retry is due: it is retried now"),
    Edge(_C.RETRY, _AC, _Q, "its client no longer has the item"),
    *(Edge(_C.CANCEL, p, Phase.CANCELED) for p in (_Q, _AD, _AC, _PR, Phase.PARENT)),
    Edge(_C.STOP, _AC, _AC, "a live recording: its worker ends it, keeping what it recorded"),
    Edge(_C.STOP, _Q, _Q, "a live recording between attempts: the next one finishes it"),
    Edge(_C.STOP, _AD, _AD, "a live recording between attempts: the next one finishes it"),
    Edge(_C.ADMIT, _Q, _AD, "a slot is free (fair rank order)"),
    Edge(_C.CLAIM, _AD, _AC, "a worker leases a built-in job"),
    Edge(_C.CLAIM, _AC, _AC, "a built-in job whose worker is gone is leased again"),
    Edge(_C.HAND_OVER, _AD, _AC, "an external client took the item"),
    Edge(_C.HAND_OVER, _AD, _Q, "paused while the client took it"),
    Edge(_C.EXPAND, _AD, Phase.PARENT, "a playlist: its entries are queued"),
    Edge(_C.EXPAND, _AC, Phase.PARENT, "a playlist: its entries are queued"),
    Edge(_C.PARK, _AD, _Q, "paused, or waiting for disk space: no attempt spent"),
    Edge(_C.PARK, _AC, _Q, "paused, or waiting for disk space: no attempt spent"),
    Edge(_C.REQUEUE, _AD, _Q, "a transient error: retried later, one attempt spent"),
    Edge(_C.REQUEUE, _AC, _Q, "a transient error: retried later, one attempt spent"),
    Edge(_C.FAIL, _AD, Phase.FAILED, "a permanent error, or the attempts are used up"),
    Edge(_C.FAIL, _AC, Phase.FAILED, "a permanent error, or the attempts are used up"),
    Edge(_C.FINISH, _AC, _PR, "the client has it all; haul probes and files it"),
    Edge(_C.COMPLETE, _PR, Phase.COMPLETED),
    Edge(_C.COMPLETE, _AC, Phase.COMPLETED, "nothing left to process"),
    Edge(_C.REPROCESS, Phase.COMPLETED, _PR, "its files are probed and filed again"),
    Edge(
        _C.DEFER_REMOVAL,
        Phase.COMPLETED,
        Phase.CANCELED,
        "its client cannot remove the item now: the monitor does when it is back",
    ),
)

#: command -> phase -> the phases it may lead to.
TRANSITIONS: Mapping[Command, Mapping[Phase, frozenset[Phase]]] = {
    command: {
        source: frozenset(e.target for e in EDGES if e.command is command and e.source is source)
        for source in Phase
        if any(e.command is command and e.source is source for e in EDGES)
    }
    for command in Command
}


def allowed(command: Command, phase: Phase | str) -> bool:
    """Whether ``command`` applies to a download in ``phase`` at all."""
    return Phase(phase) in TRANSITIONS[command]


def markdown_table() -> str:
    """The transition table as the Markdown that ``docs/lifecycle.md`` shows."""
    lines = ["| Command | From | To | When |", "| --- | --- | --- | --- |"]
    for e in EDGES:
        lines.append(f"| `{e.command}` | {e.source} | {e.target} | {e.when} |")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the lifecycle's decisions read of a stored download."""

    id: int
    phase: Phase
    desired_paused: bool = False
    #: Whether a worker holds a lease on it.
    leased: bool = False
    client: str | None = None
    client_ref: str | None = None
    canceled: bool = False
    started: bool = False
    retry_attempt: int = 0
    retry_next_at: datetime | None = None
    #: The code of the error it last met (its history tells a wait for disk space once).
    last_error_code: str | None = None
    #: A live stream being recorded, and whether its end was asked for.
    live: bool = False
    stop_requested: bool = False
    #: Whether what its source is was found out already (by an attempt that got that far).
    resolved: bool = False

    @property
    def on_external(self) -> bool:
        """Whether an external client holds (or held) its item."""
        return bool(self.client and self.client != BUILTIN and self.client_ref)


@dataclass(frozen=True, slots=True)
class Change:
    """What a command writes: column values, where the row goes in the queue, and the event
    its history records (none when nothing changed)."""

    updates: Mapping[str, Any] = field(default_factory=dict)
    event: str | None = None
    event_data: Mapping[str, Any] = field(default_factory=dict)
    #: The queue rank to give it: at the front of the queue, or behind its owner's others.
    rank: Literal["front", "back"] | None = None
    #: Keys of the row's ``meta`` to drop.
    forget: frozenset[str] = frozenset()
    #: Keys of the row's ``meta`` to set.
    remember: Mapping[str, Any] = field(default_factory=dict)
    #: The message of its history event.
    message: str | None = None

    @property
    def phase(self) -> Phase | None:
        """The phase it moves to (None: it stays)."""
        phase = self.updates.get("phase")
        return None if phase is None else Phase(phase)


NOTHING = Change()


def _refuse(snap: Snapshot, why: str) -> InvalidTransition:
    return InvalidTransition(f"Download {snap.id} is {snap.phase}; {why}")


#: haul's own steps: none is taken by a download canceled meanwhile (the cancel wins).
_OWN_STEPS = frozenset(
    {
        Command.ADMIT,
        Command.CLAIM,
        Command.HAND_OVER,
        Command.EXPAND,
        Command.PARK,
        Command.REQUEUE,
        Command.FAIL,
        Command.FINISH,
        Command.COMPLETE,
    }
)


def _check(snap: Snapshot, command: Command) -> None:
    if snap.phase not in TRANSITIONS[command]:
        raise _refuse(snap, f"{command} does not apply.")
    if snap.canceled and command in _OWN_STEPS:
        raise _refuse(snap, f"it was canceled: {command} does not apply.")


def _moving(snap: Snapshot, target: Phase) -> dict[str, Any]:
    return {} if target is snap.phase else {"phase": target.value}


# -- what people ask ------------------------------------------------------------------------


def pause(snap: Snapshot) -> Change:
    """Want it paused (sticky: the wish is re-applied until resumed). A download that holds
    a slot only to wait gives it back."""
    if snap.phase not in OPEN_PHASES:
        raise _refuse(snap, "only unfinished downloads can be paused.")
    if snap.live:
        raise InvalidTransition(
            f"Download {snap.id} is recording a live stream, which cannot be paused (the "
            "stream goes on without it): stop the recording to keep what was recorded, "
            "or cancel it."
        )
    if snap.desired_paused:
        return NOTHING
    target = snap.phase
    if snap.phase is Phase.ADMITTED and not snap.leased:
        target = Phase.QUEUED
    if snap.phase is Phase.ACTIVE and snap.on_external:
        target = Phase.QUEUED
    return Change({"desired_paused": True, **_moving(snap, target)}, "pause_requested")


def resume(snap: Snapshot) -> Change:
    """Want it running again; a queued one goes to the front of the queue."""
    if snap.phase not in OPEN_PHASES:
        raise _refuse(snap, "only unfinished downloads can be resumed.")
    if not snap.desired_paused:
        return NOTHING
    rank: Literal["front"] | None = "front" if snap.phase is Phase.QUEUED else None
    return Change({"desired_paused": False}, "resume_requested", rank=rank)


def retry(snap: Snapshot, *, missing: bool = False) -> Change:
    """Start it again from its source, attempts reset. ``missing``: its client answered that
    it no longer has the item."""
    if not (
        snap.phase in (Phase.FAILED, Phase.CANCELED)
        or (snap.phase is Phase.QUEUED and snap.retry_next_at is not None)
        or (snap.phase is Phase.ACTIVE and missing)
    ):
        raise _refuse(snap, "only failed, canceled or missing downloads can be retried.")
    return Change(
        {
            "phase": Phase.QUEUED.value,
            "canceled_at": None,
            "desired_paused": False,
            "retry_attempt": 0,
            "retry_next_at": None,
            "failed_at": None,
            "last_error_code": None,
            "last_error_message": None,
        },
        "retry_requested",
        rank="back",
        forget=frozenset({"resolved", "stop_requested"}),
    )


def cancel(snap: Snapshot, *, at: datetime, delete_files: bool = False) -> Change:
    """Stop an unfinished download (or a playlist) for good."""
    _check(snap, Command.CANCEL)
    return Change(
        {
            "phase": Phase.CANCELED.value,
            "canceled_at": at,
            "cancel_delete_partial": delete_files,
        },
        "canceled",
        {"delete_files": delete_files},
    )


def stop(snap: Snapshot) -> Change:
    """End a live recording, keeping what it recorded: its worker finishes it like any
    download (a cancel, by contrast, discards it). One known to be live (an earlier attempt
    found it so) may be stopped while it waits: its next attempt finishes what was recorded.
    One whose source is not known yet (queued, or being resolved, for the first time) is not
    known to be a live stream: it is refused with a sentence that says what to do instead."""
    if snap.phase in TRANSITIONS[Command.STOP] and not snap.live and not snap.resolved:
        raise InvalidTransition(
            f"Download {snap.id} has not started recording yet: cancel it instead, or stop "
            "it once it records (haul knows it is a live stream only then)."
        )
    if not snap.live or snap.phase not in TRANSITIONS[Command.STOP]:
        raise InvalidTransition(
            f"Download {snap.id} is not recording a live stream; only a live recording can "
            "be stopped (cancel ends any other download)."
        )
    if snap.canceled:
        raise _refuse(snap, "it was canceled: stop does not apply.")
    if snap.stop_requested:
        return NOTHING
    return Change(event="stop_requested", remember={"stop_requested": True})


# -- what haul does -------------------------------------------------------------------------


def admit(snap: Snapshot, *, at: datetime) -> Change:
    """Give a queued download a slot."""
    _check(snap, Command.ADMIT)
    return Change({"phase": Phase.ADMITTED.value, "admitted_at": at}, "admitted")


def claim(snap: Snapshot, *, worker: str, at: datetime, engine: str | None = None) -> Change:
    """Lease a built-in job to ``worker``, which starts it at once."""
    _check(snap, Command.CLAIM)
    return Change(
        {
            "lease_worker_id": worker,
            "phase": Phase.ACTIVE.value,
            "client": BUILTIN,
            "client_ref": str(snap.id),
            **({} if snap.started else {"started_at": at}),
        },
        "resumed" if snap.started else "started",
        {} if engine is None else {"engine": engine},
    )


def hand_over(snap: Snapshot, *, client: str, ref: str, at: datetime) -> Change:
    """An external client took the item; a download paused meanwhile holds no slot."""
    _check(snap, Command.HAND_OVER)
    target = Phase.QUEUED if snap.desired_paused else Phase.ACTIVE
    return Change(
        {
            "phase": target.value,
            "client": client,
            "client_ref": ref,
            "client_released_at": None,
            "lease_worker_id": None,
            **({} if snap.started else {"started_at": at}),
        },
        "resumed" if snap.started else "handed_over",
        {"client": client, "ref": ref},
    )


def expand(snap: Snapshot, *, entries: int | None = None) -> Change:
    """A playlist becomes the parent of its ``entries`` (it holds no lease: it runs nothing)."""
    _check(snap, Command.EXPAND)
    message = None if entries is None else f"Playlist with {entries} entries"
    return Change(
        {"phase": Phase.PARENT.value, "lease_worker_id": None}, "expanded", message=message
    )


def park(
    snap: Snapshot,
    *,
    retry_at: datetime | None = None,
    code: str | None = None,
    message: str | None = None,
) -> Change:
    """Back to the queue without spending an attempt: paused, or waiting for disk space
    (``retry_at``: when to look again; ``code`` and ``message``: why it waits). A wait for
    the same reason as the last is not told again in its history."""
    _check(snap, Command.PARK)
    updates: dict[str, Any] = {"phase": Phase.QUEUED.value, "lease_worker_id": None}
    if retry_at is None:
        return Change(updates, "paused")
    updates["retry_next_at"] = retry_at
    if code is not None:
        updates["last_error_code"] = code
        updates["last_error_message"] = message
    if code is not None and code == snap.last_error_code:
        return Change(updates)  # said when the wait began
    data = {} if code is None else {"code": code}
    return Change(updates, "waiting_for_space", data, message=message)


def requeue(
    snap: Snapshot, *, retry_at: datetime, code: str, message: str, delay: float | None = None
) -> Change:
    """A transient error: back to the queue until ``retry_at`` (``delay`` seconds from now,
    as its history tells), one attempt spent."""
    _check(snap, Command.REQUEUE)
    attempt = snap.retry_attempt + 1
    data: dict[str, Any] = {"code": code, "attempt": attempt}
    if delay is not None:
        data["delay"] = round(delay, 1)
    return Change(
        {
            "phase": Phase.QUEUED.value,
            "lease_worker_id": None,
            "retry_attempt": attempt,
            "retry_next_at": retry_at,
            "last_error_code": code,
            "last_error_message": message,
        },
        "retry_scheduled",
        data,
        message=message,
    )


def fail(snap: Snapshot, *, at: datetime, code: str, message: str) -> Change:
    """A permanent error, or the attempts are used up."""
    _check(snap, Command.FAIL)
    return Change(
        {
            "phase": Phase.FAILED.value,
            "lease_worker_id": None,
            "failed_at": at,
            "last_error_code": code,
            "last_error_message": message,
        },
        "failed",
        {"code": code},
        message=message,
    )


def _files(files: int | None) -> dict[str, Any]:
    return {} if files is None else {"files": files}


def finish(
    snap: Snapshot, *, at: datetime, files: int | None = None, worker: str | None = None
) -> Change:
    """The client has all of it (``files`` of them): haul probes and files what arrived;
    ``worker`` (the one that records it) does that next and holds it meanwhile."""
    _check(snap, Command.FINISH)
    return Change(
        {
            "phase": Phase.PROCESSING.value,
            "completed_at": at,
            "last_error_code": None,
            "last_error_message": None,
            "retry_next_at": None,
            "lease_worker_id": worker,
        },
        "downloaded",
        _files(files),
    )


def complete(snap: Snapshot, *, at: datetime, files: int | None = None) -> Change:
    """Done: its files (``files`` of them) are where they belong."""
    _check(snap, Command.COMPLETE)
    updates: dict[str, Any] = {"phase": Phase.COMPLETED.value, "lease_worker_id": None}
    if snap.phase is Phase.ACTIVE:
        updates["completed_at"] = at
    return Change(updates, "completed", _files(files))


def reprocess(snap: Snapshot, *, why: str | None = None) -> Change:
    """Probe and file a finished download's files again (any worker takes it up); ``why``
    it is done again is the message of its history event."""
    _check(snap, Command.REPROCESS)
    return Change(
        {"phase": Phase.PROCESSING.value, "lease_worker_id": None}, "reprocess", message=why
    )


def defer_removal(snap: Snapshot, *, delete_files: bool) -> Change:
    """A finished download's client could not be told to remove its item: the row says the
    removal is owed, and the monitor carries it out when the client is back."""
    _check(snap, Command.DEFER_REMOVAL)
    return Change({"phase": Phase.CANCELED.value, "cancel_delete_partial": delete_files})
