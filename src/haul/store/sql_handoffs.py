"""What the external-client monitor reads and writes, over the database: the named queries of
:mod:`haul.store.handoffs`, each in its own transaction."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from haul.core.status import Phase
from haul.store import handoffs as hq
from haul.store.database import Database
from haul.store.downloads import add_event
from haul.store.handoffs import Watched
from haul.store.models import Download

if TYPE_CHECKING:
    from haul.store.jobs import HandoffStore


class SqlHandoffStore:
    """:class:`~haul.store.jobs.HandoffStore` over a :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

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
            hq.set_fields(
                s,
                download_id,
                phase=Phase.PROCESSING.value,
                lease_worker_id=worker,  # this worker processes the files
                completed_at=at,
                files=files,
                title=title,
                last_error_code=None,
                last_error_message=None,
            )
            add_event(s, download_id, "downloaded", message, files=len(files), seeding=seeding)
            return True

        return await self.db.run(write)


if TYPE_CHECKING:  # the store has every operation of the protocol
    _conforms: type[HandoffStore] = SqlHandoffStore
