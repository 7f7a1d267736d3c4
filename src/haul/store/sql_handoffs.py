"""What the hand-over to external clients and their monitor read and write, over the
database: the named queries of :mod:`haul.store.handoffs`, each in its own transaction."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from haul.core import lifecycle
from haul.core.bandwidth import HELD_MARK, marked
from haul.core.status import OPEN_PHASES, Phase
from haul.store import handoffs as hq
from haul.store.database import Database
from haul.store.downloads import add_event
from haul.store.jobs import Handed, Handover, Watched
from haul.store.models import Download

if TYPE_CHECKING:
    from haul.store.jobs import HandoffStore

OPEN = frozenset(p.value for p in OPEN_PHASES)


class SqlHandoffStore:
    """:class:`~haul.store.jobs.HandoffStore` over a :class:`Database`. Claims skip rows
    another transaction locked on PostgreSQL; SQLite has one writer at a time."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- hand over ------------------------------------------------------------------------

    async def claim_handoffs(
        self,
        worker_id: str,
        caps: Mapping[str, int | None],
        down: Collection[str],
        instead: Callable[[Download], str | None],
    ) -> list[Download]:
        def claim(s: Session) -> list[Download]:
            busy = hq.active_per_client(s, list(caps))
            room: dict[str, int | None] = {}
            for name, cap in caps.items():
                room[name] = None if cap is None else cap - busy[name]
                if name in down:
                    room[name] = 0  # backed off: its downloads wait, admitted, untouched
            return hq.claim_handoffs(
                s, worker_id, room, skip_locked=not self.db.is_sqlite, instead=instead
            )

        return await self.db.run(claim)

    async def give_back(self, download_id: int, worker_id: str) -> None:
        await self.db.run(lambda s: hq.unlease(s, download_id, worker_id))

    async def to_builtin(self, download_id: int) -> None:
        await self.db.run(
            lambda s: hq.set_fields(s, download_id, client=None, lease_worker_id=None)
        )

    async def keep_meta(self, download_id: int, meta: dict[str, Any]) -> None:
        await self.db.run(lambda s: hq.set_fields(s, download_id, meta=meta))

    async def handed_over(self, handover: Handover) -> Handed:
        h = handover
        values: dict[str, Any] = {
            "client": h.client,
            "client_ref": h.ref,
            "client_released_at": None,
            "lease_worker_id": None,
            "started_at": h.started_at,
            "meta": h.meta,
        }
        if h.source_blob is not None:
            values["source_blob"] = h.source_blob

        def write(s: Session) -> Handed:
            holder = hq.holder(s, h.client, h.ref, h.download_id)
            if holder is not None:
                other, other_phase = holder
                if other_phase in OPEN:
                    return Handed(None, other)
                hq.take_over(s, other)  # a finished download's item, fetched again
            # A cancel or a pause that came while the client was adding it wins: a canceled
            # row keeps its phase (the monitor removes the item), a paused one goes back to
            # the queue holding no slot (the monitor keeps the item paused).
            hq.set_fields(s, h.download_id, **values, phase=hq.handed_phase())
            if h.resumed:
                message, kind = f"resumed on {h.client}", "resumed"
            else:
                message, kind = f"added to {h.client}", "handed_over"
            add_event(s, h.download_id, kind, message, client=h.client, ref=h.ref)
            return Handed(hq.phase_of(s, h.download_id))

        return await self.db.run(write)

    # -- monitor --------------------------------------------------------------------------

    async def watched(self, releasing: Collection[str]) -> list[Watched]:
        return await self.db.query(lambda s: hq.watched(s, releasing))

    async def load(self, download_id: int) -> Download | None:
        def read(s: Session) -> Download | None:
            row = hq.load(s, download_id)
            if row is not None:
                s.expunge(row)
            return row

        return await self.db.query(read)

    async def released(self, download_id: int, message: str | None = None) -> None:
        def write(s: Session) -> None:
            hq.release(s, download_id)
            if message is not None:
                add_event(s, download_id, "released", message)

        await self.db.run(write)

    async def resumed(self, download_id: int) -> None:
        def settled(s: Session) -> None:
            full = hq.load(s, download_id)
            if full is not None:
                full.meta = {k: v for k, v in full.meta.items() if k != "resume_owed"}

        await self.db.run(settled)

    async def schedule_held(self, download_id: int, held: bool, message: str) -> bool:
        def write(s: Session) -> bool:
            full = hq.load(s, download_id, lock=True)
            if full is None or bool(full.meta.get(HELD_MARK)) == held:
                return False
            full.meta = marked(full.meta, held)
            add_event(s, download_id, "schedule", message)
            return True

        return await self.db.run(write)

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
        def write(s: Session) -> bool:
            if not hq.still_active(s, download_id):
                return False  # canceled (or paused) since the monitor looked: theirs wins
            # this worker processes the files: it holds the lease meanwhile
            snap = lifecycle.Snapshot(download_id, Phase.ACTIVE)
            change = lifecycle.finish(snap, at=at, worker=worker)
            hq.set_fields(s, download_id, **change.updates, files=files, title=title)
            kind = str(change.event)
            add_event(s, download_id, kind, message, files=len(files), seeding=seeding)
            return True

        return await self.db.run(write)


if TYPE_CHECKING:  # the store has every operation of the protocol
    _conforms: type[HandoffStore] = SqlHandoffStore
