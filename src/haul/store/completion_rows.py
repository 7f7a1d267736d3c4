"""What recording a finished download does to its row, the same for the SQL and the in-memory
job store: the lifecycle's ``finish`` (its files are processed next by the worker that records
it), followed at once by ``complete`` when their probe records come with it. A completion the
lifecycle refuses (the download was canceled, or started again, meanwhile) moves nothing: the
row keeps the files that arrived, and no worker holds it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from haul.core import lifecycle
from haul.core.lifecycle import Change, Snapshot
from haul.core.status import Phase
from haul.store.jobs import Completion

#: The phases of a download recorded as finished already: a completion made again (after a
#: commit whose answer was lost) leaves it, and its history, as they are.
FINISHED = frozenset({Phase.PROCESSING.value, Phase.COMPLETED.value})

Event = tuple[str, str | None, dict[str, Any]]


def changes(snap: Snapshot, c: Completion, worker: str | None) -> list[Change]:
    """The lifecycle's changes ``c`` makes to the download of ``snap``, in order; raises
    :class:`~haul.errors.InvalidTransition` when it refuses them."""
    files = len(c.files)
    if c.records is None:
        return [lifecycle.finish(snap, at=c.at, files=files, worker=worker)]
    finished = lifecycle.finish(snap, at=c.at, files=files)
    processing = replace(snap, phase=Phase.PROCESSING, leased=False)
    return [finished, lifecycle.complete(processing, at=c.at, files=files)]


def updates(made: Sequence[Change], c: Completion) -> dict[str, Any]:
    """The columns to write: the completion's files, title and meta, then each change's."""
    values: dict[str, Any] = {"files": c.files, "title": c.title, "meta": c.meta}
    if not made:
        values["lease_worker_id"] = None
    for change in made:
        values.update(change.updates)
    return values


def history(made: Sequence[Change], c: Completion) -> list[Event]:
    """The history it adds: the download arrived, then (completed at once) what its probe
    told and that it is completed. A refused completion says only that it arrived."""
    if not made:
        return [("downloaded", None, {"files": len(c.files)})]
    events: list[Event] = []
    for index, change in enumerate(made):
        if index:
            events += c.events
        if change.event is not None:
            events.append((change.event, change.message, dict(change.event_data)))
    return events
