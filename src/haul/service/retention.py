"""Retention: finished downloads kept long enough are removed, with their own files.

Which downloads expire is decided in :mod:`haul.core.retention`; this shell reads them a batch
at a time (a history of 100,000 rows is never loaded at once), asks the external clients about
the items they still hold (one bulk call per client: a seeding torrent stays; a finished or
stopped one is removed from its client, data kept), deletes the rows (events and media file
records go with them; media items stay), then the files: only the download's own data inside
the downloads folder, partial data of a failed or canceled job included. What a download filed
into the library belongs to its media item and stays, file and record (see
:mod:`haul.service.files`). Each removal is published as a ``removed`` event so live pages drop
the row. The report of the last real run is kept in the config table, where every process of an
instance sees it; a dry run lists what would go.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Row

from haul.clients.base import DownloadClient
from haul.clients.directory import ClientDirectory
from haul.core.client_items import ClientItem
from haul.core.retention import (
    Finished,
    Gone,
    Report,
    RetentionAges,
    cutoff,
    expired,
    held_by_client,
)
from haul.core.status import Status
from haul.errors import ClientError, ClientItemNotFound
from haul.events.bus import EventBus
from haul.service.files import Folders, Removed, remove_inside
from haul.store import config as config_store
from haul.store import retention as rq
from haul.store.database import Database
from haul.store.media_files import Recorded, recorded_files
from haul.store.models import utcnow

log = logging.getLogger(__name__)

#: The config table key of the last run's report.
LAST_RUN_KEY = "retention.last_run"
BATCH = 500
#: A dry run lists at most this many downloads (and counts them all).
LISTED_AT_MOST = 1000

#: Where the ages in effect come from: the runtime's live settings.
AgesSource = Callable[[], RetentionAges | Awaitable[RetentionAges]]


@dataclass
class _Tally:
    ids: set[int] = field(default_factory=set)
    files: int = 0
    freed_bytes: int = 0
    #: Playlists whose children were removed: they may have expired now.
    parents: set[int] = field(default_factory=set)
    #: What went (a dry run: would go), download by download.
    listed: list[Gone] = field(default_factory=list)


class RetentionService:
    def __init__(
        self,
        db: Database,
        bus: EventBus,
        *,
        ages: AgesSource,
        directory: ClientDirectory | None = None,
        downloads_root: Path,
        library_root: Path,
        work_root: Path,
        clock: Callable[[], datetime] = utcnow,
        batch: int = BATCH,
    ) -> None:
        self.db = db
        self.bus = bus
        self.ages = ages
        #: The external clients, asked about the items they still hold (None: keep those).
        self.directory = directory
        self.downloads_root = downloads_root
        self.library_root = library_root
        #: The built-in engine's work folders (partial data of unfinished jobs).
        self.work_root = work_root
        self.clock = clock
        self.batch = batch
        self._running = asyncio.Lock()

    async def current_ages(self) -> RetentionAges:
        ages = self.ages()
        return await ages if inspect.isawaitable(ages) else ages

    async def last_run(self) -> dict[str, Any] | None:
        async with self.db.read() as s:
            found = await config_store.stored(s, [LAST_RUN_KEY])
        value = found.get(LAST_RUN_KEY)
        return value if isinstance(value, dict) else None

    async def run(self, *, dry_run: bool = False) -> Report:
        """Remove every expired download now (``dry_run``: only say what would go)."""
        async with self._running:
            started = time.monotonic()
            now = self.clock()
            ages = await self.current_ages()
            tally = _Tally()
            scopes = [
                rq.Scope(anonymous, before)
                for anonymous, days in ((False, ages.days), (True, ages.anonymous_days))
                if (before := cutoff(days, now)) is not None
            ]
            for scope in scopes:
                await self._sweep(scope, ages, now, tally, dry_run=dry_run)
            while tally.parents:
                parents, tally.parents = sorted(tally.parents), set()
                for start in range(0, len(parents), self.batch):
                    chunk = parents[start : start + self.batch]
                    for scope in scopes:
                        await self._sweep(scope, ages, now, tally, dry_run=dry_run, only=chunk)
            report = Report(
                removed=len(tally.ids),
                freed_bytes=tally.freed_bytes,
                files=tally.files,
                dry_run=dry_run,
                ran_at=now,
                seconds=time.monotonic() - started,
                downloads=tuple(tally.listed) if dry_run else (),
            )
        if dry_run:
            log.info(
                "retention (dry run): %d downloads would be removed, %d files, %d bytes freed",
                report.removed,
                report.files,
                report.freed_bytes,
            )
            return report
        async with self.db.write() as s:
            await config_store.put(s, {LAST_RUN_KEY: report.as_json()})
        log.info(
            "retention: removed %d downloads and %d files, %d bytes freed, in %.1f s",
            report.removed,
            report.files,
            report.freed_bytes,
            report.seconds,
        )
        return report

    async def _sweep(
        self,
        scope: rq.Scope,
        ages: RetentionAges,
        now: datetime,
        tally: _Tally,
        *,
        dry_run: bool,
        only: Sequence[int] | None = None,
    ) -> None:
        after = 0
        while True:
            async with self.db.read() as s:
                rows = await rq.candidates(s, scope, after_id=after, limit=self.batch, only=only)
                if not rows:
                    return
                after = int(rows[-1].id)
                children = await rq.children_of(s, [r.id for r in rows]) if only else {}
            last = len(rows) < self.batch
            rows = [r for r in rows if r.id not in tally.ids]
            items = await self._held_items(rows)
            chosen = [
                r
                for r in rows
                if expired(
                    Finished.of(r, has_children=bool(children.get(r.id, set()) - tally.ids)),
                    ages,
                    now,
                    live=_live(r, items),
                )
            ]
            if chosen:
                async with self.db.read() as s:
                    records = await recorded_files(s, [r.id for r in chosen])
                await self._remove(scope, chosen, records, items, tally, dry_run=dry_run)
            if last:
                return

    async def _held_items(self, rows: Sequence[Row[Any]]) -> dict[int, ClientItem | None]:
        """What the external clients say of the items they hold for ``rows``: download id ->
        the item, or None when the client does not know it (a client that cannot be asked
        leaves its rows out: they are kept). One bulk call per client, all at once."""
        groups: dict[str, list[Row[Any]]] = defaultdict(list)
        for row in rows:
            if held_by_client(Finished.of(row)):
                groups[str(row.client)].append(row)
        if not groups or self.directory is None:
            return {}
        directory = self.directory

        async def ask(name: str, group: list[Row[Any]]) -> dict[int, ClientItem | None]:
            try:
                found = await directory.items(name, [str(r.client_ref) for r in group])
            except ClientError as exc:
                log.info("retention: %s not asked (%s); its items are kept", name, exc.message)
                return {}
            return {int(r.id): found.get(str(r.client_ref)) for r in group}

        answers = await asyncio.gather(*(ask(n, g) for n, g in groups.items()))
        return {k: v for answer in answers for k, v in answer.items()}

    async def _remove(
        self,
        scope: rq.Scope,
        rows: list[Row[Any]],
        records: dict[int, list[Recorded]],
        items: dict[int, ClientItem | None],
        tally: _Tally,
        *,
        dry_run: bool,
    ) -> None:
        if dry_run:
            gone = rows
        else:
            released = await self._release(rows, items)
            rows = [r for r in rows if r.id not in items or r.id in released]
            async with self.db.write() as s:
                deleted = set(await rq.remove(s, scope, [r.id for r in rows], released=released))
            gone = [r for r in rows if r.id in deleted]
        removed = await asyncio.to_thread(self._delete_files, gone, records, items, dry_run)
        for row, one in zip(gone, removed, strict=True):
            tally.files += one.files
            tally.freed_bytes += one.freed_bytes
            if dry_run and len(tally.listed) < LISTED_AT_MOST:
                tally.listed.append(
                    Gone(
                        int(row.id),
                        str(row.title or row.source_url),
                        one.freed_bytes,
                        tuple(str(p) for p in one.paths),
                    )
                )
        for row in gone:
            tally.ids.add(int(row.id))
            if row.parent_id is not None:
                tally.parents.add(int(row.parent_id))
            if not dry_run:
                self.bus.publish(
                    "removed",
                    row.id,
                    row.owner_key,
                    reason="retention",
                    download={"id": row.id, "parent_id": row.parent_id},
                )

    async def _release(self, rows: list[Row[Any]], items: dict[int, ClientItem | None]) -> set[int]:
        """Remove the items external clients hold for ``rows`` (their data stays: haul deletes
        the files itself, inside its folders); the ids of the rows whose item is gone."""
        released: set[int] = set()
        for row in rows:
            if int(row.id) not in items:
                continue
            if items[int(row.id)] is None or self.directory is None:
                released.add(int(row.id))  # the client no longer knows it
                continue
            try:
                await self.directory.call(str(row.client), _remover(str(row.client_ref)))
            except ClientItemNotFound:
                pass  # the client no longer knows it
            except ClientError as exc:
                log.info("retention: download %s kept, %s: %s", row.id, row.client, exc)
                continue
            released.add(int(row.id))
        return released

    def _delete_files(
        self,
        rows: Collection[Row[Any]],
        records: dict[int, list[Recorded]],
        items: dict[int, ClientItem | None],
        dry_run: bool,
    ) -> list[Removed]:
        """Blocking: each download's own files (what it filed into the library stays): in
        its row, its media file records, its external client's item and (an unfinished job)
        its work folder."""
        folders = Folders(self.downloads_root, self.library_root)
        removed = []
        for row in rows:
            item = items.get(int(row.id))
            more = item_paths(item) if item is not None else []
            work = self.work_root / str(row.id)
            if work.is_dir():
                more.extend(p for p in work.rglob("*") if p.is_file())
            paths = folders.own_data(row.files or [], records.get(int(row.id), []), more)
            removed.append(
                remove_inside(
                    paths, (self.downloads_root,), dry_run=dry_run, keep_dirs=(self.work_root,)
                )
            )
            if not dry_run:
                with contextlib.suppress(OSError):
                    work.rmdir()  # an empty work folder left behind
        return removed


def _live(row: Row[Any], items: dict[int, ClientItem | None]) -> Status | None:
    """What the row's client says of its item: its state, missing when the client answered
    without it, None when not asked (nothing held, or the client cannot be reached)."""
    if int(row.id) not in items:
        return None
    item = items[int(row.id)]
    return Status.MISSING if item is None else item.status


def item_paths(item: ClientItem) -> list[Path]:
    """The files a client lists for its item (relative ones are under its save path)."""
    found = []
    for name in item.files:
        path = Path(name)
        if not path.is_absolute():
            if item.save_path is None:
                continue
            path = Path(item.save_path) / path
        found.append(path)
    return found


def _remover(ref: str) -> Callable[[DownloadClient], Awaitable[None]]:
    """A client call removing item ``ref`` and keeping its data (haul deletes it)."""

    async def remove(client: DownloadClient) -> None:
        await client.remove(ref, delete_data=False)

    return remove
