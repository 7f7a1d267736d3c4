"""Where a caller of :func:`~haul.runtime.build.build` may stand between the worker's jobs
and the parts they call: each seam gets what ``build`` made and returns what the jobs use
(the same part by default). Tests put faults there (a database that refuses a read, an
announcement that fails) and shorter waits (the disk-space recheck)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from haul.worker.context import Handoff, JobContext

T = TypeVar("T")


def _same(part: T) -> T:
    return part


@dataclass(frozen=True, slots=True)
class JobSeams:
    #: The context every job runs with (its store, publishing, folders, waits).
    context: Callable[[JobContext], JobContext] = field(default=_same)
    #: The hand-over of a source a job resolved to an external client.
    handoff: Callable[[Handoff], Handoff] = field(default=_same)
