"""Submits stored a batch at a time (group commit), each batch whole in the database thread."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

from sqlalchemy.orm import Session

from haul.core.admission import Limits
from haul.errors import HaulError, UnknownProfile
from haul.store.database import Database
from haul.store.models import Download
from haul.store.submits import NewDownload, profile_ids, submit_many

SUBMIT_BATCH = 500


@dataclass(frozen=True, slots=True)
class SubmitRequest:
    """A download waiting for its batch (its profile's id is looked up there), and the
    outcome its submitter waits for."""

    item: NewDownload
    done: asyncio.Future[Download]


class SubmitBatcher:
    def __init__(
        self, db: Database, *, limits: Callable[[], Limits], policy: Callable[[], str]
    ) -> None:
        self.db = db
        self.limits = limits
        self.policy = policy
        self._pending: list[SubmitRequest] = []
        self._flusher: asyncio.Task[None] | None = None

    async def store(self, item: NewDownload) -> Download:
        """Queue ``item`` for the next batch and wait for its outcome."""
        request = SubmitRequest(item, asyncio.get_running_loop().create_future())
        self._pending.append(request)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="haul-submit-flush")
        return await request.done

    async def _flush(self) -> None:
        """Store waiting submits, many per transaction (group commit).

        Submits that arrive while one transaction runs share the next one: the write lock and
        the commit are paid once per batch, not once per submit. A refusal (duplicate, over a
        limit, unknown profile) is decided before its download writes anything, so it fails
        alone without a savepoint.
        """
        while self._pending:
            batch, self._pending = self._pending[:SUBMIT_BATCH], self._pending[SUBMIT_BATCH:]
            try:
                outcomes = await self.db.run(partial(self._store, batch=batch), admission=True)
            except Exception as exc:
                for request in batch:
                    if not request.done.done():
                        request.done.set_exception(exc)
                continue
            for request, outcome in zip(batch, outcomes, strict=True):
                if request.done.done():
                    continue
                if isinstance(outcome, HaulError):
                    request.done.set_exception(outcome)
                else:
                    request.done.set_result(outcome)

    def _store(self, s: Session, *, batch: list[SubmitRequest]) -> list[Download | HaulError]:
        """Store a batch (runs whole in the database thread: no awaits here). A download
        asked for without a profile gets the default profile, if there is one."""
        asked = [r.item.options.profile for r in batch]
        profiles, default = profile_ids(s, asked)
        items: list[NewDownload] = []
        refused: dict[int, HaulError] = {}
        for index, (request, name) in enumerate(zip(batch, asked, strict=True)):
            if name is not None and name not in profiles:
                refused[index] = UnknownProfile(f"There is no profile named {name!r}.")
                continue
            items.append(replace(request.item, profile_id=profiles[name] if name else default))
        stored = iter(submit_many(s, items, limits=self.limits(), policy=self.policy()))
        return [refused[i] if i in refused else next(stored) for i in range(len(batch))]
