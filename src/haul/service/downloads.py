"""Download operations every interface shares: submit, list, show, pause, resume, retry, cancel."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from haul.clients.base import DownloadClient
from haul.clients.builtin.client import BuiltinClient
from haul.clients.directory import NARROW_AT_MOST, ClientDirectory
from haul.core import lifecycle, trackers
from haul.core.admission import Candidate, Limits, waiting_reason
from haul.core.bandwidth import HELD_MESSAGE, rate_text
from haul.core.images import download_thumbnail
from haul.core.lifecycle import Change, Command
from haul.core.paths import entry_root, inside, owner_folder
from haul.core.routing import BUILTIN, check_requested, route
from haul.core.sites import site_of
from haul.core.sources import Source, check_site, parse_source, torrent_source
from haul.core.status import OPEN_PHASES, Phase, Status, phase_status, phases_for
from haul.core.submit_options import DEFAULT_OPTIONS, SubmitOptions
from haul.core.torrents import parse_torrent
from haul.core.tracking import DownloadRow, Playlist, Tracked, files_size, track
from haul.engine.base import Profile as EngineProfile
from haul.errors import (
    ClientError,
    ClientItemNotFound,
    InvalidChoice,
    NoClient,
    NoClientForSource,
    NotFound,
    TorrentsNotAllowed,
)
from haul.events.bus import EventBus
from haul.service.files import Folders, remove_inside
from haul.service.listing import ClientTracker, cursor_id
from haul.service.media import MediaService
from haul.service.profiles import engine_profile
from haul.service.shown import all_for, events_for, states_for, tracked_for
from haul.service.submitting import SubmitBatcher
from haul.service.values import Owner, Page, Totals, to_json
from haul.store import changes
from haul.store import downloads as q
from haul.store.changes import snapshot
from haul.store.database import Database
from haul.store.kept import Kept
from haul.store.media_files import recorded_files
from haul.store.models import Download, DownloadEvent, Profile, User, utcnow
from haul.store.sealed import KeyFile
from haul.store.search import contains_all
from haul.store.submits import NewDownload, visitor_refusal
from haul.worker.external import saved_inside

log = logging.getLogger(__name__)


#: The columns a listed download needs (the fields of :class:`~haul.core.tracking.DownloadRow`).
PAGE_COLUMNS = [getattr(Download, name) for name in DownloadRow.__annotations__]


def _on_external(row: Download) -> bool:
    """Whether an external client holds (or held) the row's item."""
    return bool(row.client and row.client != BUILTIN and row.client_ref)


async def _apply(s: Any, row: Download, change: Change, *, record: bool = True) -> None:
    """Write a lifecycle change to a row read in this transaction, at its queue rank
    (``record``: with its event in the row's history)."""
    changes.apply(row, change)
    if change.rank is not None:
        row.queue_rank = await q.queue_rank_for(s, row.owner_key, front=change.rank == "front")
    if record:
        changes.record(change, partial(q.add_event, s, row.id))


class DownloadService:
    def __init__(
        self,
        db: Database,
        bus: EventBus,
        directory: ClientDirectory,
        *,
        limits: Callable[[], Limits],
        policy: Callable[[], str],
        allow_private: bool,
        wake: Callable[[], None] = lambda: None,
        library_root: Path | None = None,
        visitor_sites: tuple[str, ...] = (),
        visitor_torrents: bool = False,
        media: MediaService | None = None,
        removed_thumbnail: Callable[[str], None] = lambda source: None,
        thumbnail_failed: Callable[[str], bool] = lambda source: False,
        key: KeyFile | None = None,
        held: Callable[[], str | None] = lambda: None,
    ) -> None:
        #: Why nothing starts now (a pause window of the speed schedule), or None: told for
        #: the queued downloads.
        self.held = held
        #: The data folder's key file: a profile's proxy credentials are opened with it.
        self.key = key
        self.db = db
        #: Told the thumbnail source of a download removed from view (its copy may go).
        self.removed_thumbnail = removed_thumbnail
        self.bus = bus
        #: Where imported files live (a file of a download may have been filed there).
        self.library_root = library_root or Path("/nonexistent-library")
        self.directory = directory
        #: name -> client (the built-in engine included); the directory keeps it current.
        self.clients: dict[str, DownloadClient] = directory.clients
        self.limits = limits
        self.policy = policy
        self.allow_private = allow_private
        self.wake = wake
        self.submits = SubmitBatcher(db, limits=limits, policy=policy)
        #: The library, for the rules of media-linked downloads (None: no library here).
        self.media = media
        self.tracker = ClientTracker(directory, self._user_names, thumbnail_failed=thumbnail_failed)
        #: Public mode: the only sites anonymous visitors may download from (empty: any).
        self.visitor_sites = visitor_sites
        #: Public mode: whether anonymous visitors may download torrents.
        self.visitor_torrents = visitor_torrents
        #: Every job reads its profile when it starts and when it ends (see haul.store.kept).
        self.profiles = Kept(self._engine_profiles)

    @property
    def builtin(self) -> BuiltinClient:
        client = self.clients["builtin"]
        assert isinstance(client, BuiltinClient)
        return client

    # -- submit ---------------------------------------------------------------------------

    async def submit(
        self, url: str, owner: Owner, options: SubmitOptions = DEFAULT_OPTIONS
    ) -> Tracked:
        """Queue a link (a page, a file, a stream, a magnet link)."""
        source = parse_source(url, allow_private=self.allow_private)
        return await self.submit_source(source, owner, options)

    async def submit_torrent(
        self, blob: bytes, owner: Owner, options: SubmitOptions = DEFAULT_OPTIONS
    ) -> Tracked:
        """Queue an uploaded .torrent (checked here; a broken one is refused with a reason)."""
        meta = parse_torrent(blob)
        return await self._queue(
            torrent_source(meta),
            owner,
            options,
            addresses=meta.addresses,
            torrent=blob,
            source_name=meta.name,
        )

    async def submit_source(
        self, source: Source, owner: Owner, options: SubmitOptions = DEFAULT_OPTIONS
    ) -> Tracked:
        """Queue a source already parsed (what :meth:`submit` makes, or one haul built itself:
        an IPTV film or episode)."""
        return await self._queue(source, owner, options)

    async def _queue(
        self,
        source: Source,
        owner: Owner,
        options: SubmitOptions,
        *,
        addresses: Sequence[tuple[str, str]] = (),
        torrent: bytes | None = None,
        source_name: str | None = None,
    ) -> Tracked:
        """Check what may be checked before storing, then store it with the next batch.
        ``addresses``: a .torrent's trackers and web seeds (a magnet link's are read from it);
        ``torrent`` its bytes and ``source_name`` its name."""
        if owner.anonymous:
            if source.kind in ("magnet", "torrent") and not self.visitor_torrents:
                raise TorrentsNotAllowed(
                    "Visitors of this instance may not download torrents (magnet links and "
                    ".torrent files)."
                )
            check_site(source, self.visitor_sites)
        if source.kind == "magnet":
            addresses = trackers.magnet_addresses(source.url)
        trackers.check(addresses, allow_private=self.allow_private)
        if options.chooses_format:
            await _check_choice(source, options)
        candidates = self.directory.candidates()
        check_requested(options.client, candidates)
        exclusive = False
        if options.media_id is not None:
            if self.media is None:
                raise NotFound(f"There is no media item {options.media_id}.")
            exclusive = await self.media.check_new_download(
                options.media_id, owner, force=options.force
            )
        routed: str | None = None
        if source.kind in ("magnet", "torrent"):
            try:
                routed = route("torrent", candidates, options.client)
            except NoClient as exc:
                raise NoClientForSource(exc.message) from None
        item = NewDownload(
            source,
            owner.key,
            options,
            owner_limit=owner.limit,
            ip_limit=owner.ip_limit,
            user_id=owner.user_id,
            session_id=owner.session_id,
            ip=owner.ip,
            routed_client=routed,
            torrent=torrent,
            source_name=source_name,
            media_exclusive=exclusive,
        )
        row = await self.submits.store(item)
        self.wake()
        names = await self.tracker.names([row.owner_key])
        tracked = track(row, None, owner_name=names[row.owner_key])
        self.bus.publish("created", row.id, row.owner_key, download=to_json(tracked))
        return tracked

    async def engine_profile(self, profile_id: int | None) -> EngineProfile:
        if profile_id is None:
            return EngineProfile()
        found = (await self.profiles.get()).get(profile_id)
        if found is None:  # made since it was read, maybe by another process: read again
            self.profiles.forget()
            found = (await self.profiles.get()).get(profile_id)
        return found or EngineProfile()

    async def _engine_profiles(self) -> dict[int, EngineProfile]:
        async with self.db.read() as s:
            rows = (await s.scalars(select(Profile))).all()
        return {row.id: engine_profile(row, self.key) for row in rows}

    # -- read -----------------------------------------------------------------------------

    async def page(
        self,
        owner: Owner,
        *,
        status: Sequence[str] = (),
        client: str | None = None,
        media_id: int | None = None,
        parent_id: int | None = None,
        limit: int = 100,
        cursor: str | None = None,
        q: str | None = None,
        oldest: bool = False,
    ) -> Page:
        """A page of downloads, newest first (``oldest``: oldest first); ``q`` looks for
        words in the title and the source."""
        # Plain column rows, not ORM objects: a page is up to 1,000 rows, read on every list.
        query = select(*PAGE_COLUMNS).where(Download.hidden.is_(False))
        if not owner.is_admin:
            query = query.where(Download.owner_key == owner.key)
        if client is not None:
            query = query.where(Download.client == client)
        if media_id is not None:
            query = query.where(Download.media_id == media_id)
        query = query.where(
            Download.parent_id == parent_id
            if parent_id is not None
            else Download.parent_id.is_(None)
        )
        phases = phases_for(status)
        if phases is not None:
            query = query.where(Download.phase.in_(phases))
        words = (q or "").split()[:8]
        query = query.where(
            *contains_all([Download.title, Download.source_url], words, sqlite=self.db.is_sqlite)
        )
        if cursor:
            after = cursor_id(cursor)
            query = query.where(Download.id > after if oldest else Download.id < after)
        early = self.tracker.prefetch() if limit > NARROW_AT_MOST and client != BUILTIN else None
        try:
            async with self.db.read() as s:
                rows = list(
                    (
                        await s.execute(
                            query.order_by(Download.id if oldest else Download.id.desc()).limit(
                                limit + 1
                            )
                        )
                    ).all()
                )
                more = len(rows) > limit
                rows = rows[:limit]
                children = await self._children(s, [r.id for r in rows if r.phase == Phase.PARENT])
        except BaseException:
            for task in (early or {}).values():
                task.cancel()
            raise
        tracked, states = await self.tracker.track_rows(rows, children, early)
        tracked = await self._explained(tracked)
        if status:
            tracked = [t for t in tracked if t.status in status]
        next_cursor = str(rows[-1].id) if more and rows else None
        return Page(all_for(tracked, owner), next_cursor, states_for(states, owner))

    async def some(self, owner: Owner, ids: Sequence[int]) -> list[Tracked]:
        """The owner's downloads among ``ids`` (others are left out, not refused), newest first."""
        query = select(*PAGE_COLUMNS).where(Download.id.in_(ids), Download.hidden.is_(False))
        if not owner.is_admin:
            query = query.where(Download.owner_key == owner.key)
        async with self.db.read() as s:
            rows = list((await s.execute(query.order_by(Download.id.desc()))).all())
            children = await self._children(s, [r.id for r in rows if r.phase == Phase.PARENT])
        tracked, _ = await self.tracker.track_rows(rows, children)
        return all_for(await self._explained(tracked), owner)

    async def totals(self, owner: Owner) -> Totals:
        """Counts of what is moving and the overall speed: the rows holding a slot or being
        processed are tracked (one bulk call per client); queued ones are only counted."""
        mine: list[Any] = [Download.hidden.is_(False)]
        if not owner.is_admin:
            mine.append(Download.owner_key == owner.key)
        moving = [Phase.ADMITTED.value, Phase.ACTIVE.value, Phase.PROCESSING.value]
        # Every client is asked (one bulk call each, at once), so one that went down shows as
        # unreachable even when none of the owner's downloads is on it.
        early = self.tracker.prefetch()
        async with self.db.read() as s:
            rows = list(
                (
                    await s.execute(select(*PAGE_COLUMNS).where(*mine, Download.phase.in_(moving)))
                ).all()
            )
            waiting = (
                await s.execute(
                    select(Download.desired_paused, func.count())
                    .where(*mine, Download.phase == Phase.QUEUED.value)
                    .group_by(Download.desired_paused)
                )
            ).all()
        tracked, states = await self.tracker.track_rows(rows, prefetched=early)
        counted: Counter[str] = Counter(t.status.value for t in tracked)
        for paused, n in waiting:
            counted["paused" if paused else "queued"] += n
        return Totals(
            active=sum(counted[k] for k in ("resolving", "downloading", "checking", "processing")),
            queued=counted["queued"],
            paused=counted["paused"],
            seeding=counted["seeding"],
            speed=sum(t.speed or 0.0 for t in tracked if t.status == "downloading"),
            clients=states_for(states, owner),
        )

    async def get(self, download_id: int, owner: Owner) -> Tracked:
        row = await self._row(download_id, owner)
        async with self.db.read() as s:
            children = await self._children(s, [row.id] if row.phase == Phase.PARENT else [])
        tracked, _ = await self.tracker.track_rows([row], children)
        tracked = await self._explained(tracked)
        return tracked_for(tracked[0], owner)

    async def _explained(self, tracked: list[Tracked]) -> list[Tracked]:
        """``tracked`` with why each queued download waits (every slot taken, or its owner's,
        client's or site rule's cap reached; see :func:`haul.core.admission.waiting_reason`)
        where nothing else says so. One read of what holds a slot, only when one waits. One an
        external client holds paused for the schedule says until when."""
        if any(t.message == HELD_MESSAGE for t in tracked) and (until := self.held()):
            tracked = [
                dataclasses.replace(t, message=until) if t.message == HELD_MESSAGE else t
                for t in tracked
            ]
        idle = [i for i, t in enumerate(tracked) if _idle(t)]
        if not idle:
            return tracked
        limits = self.limits()
        async with self.db.read() as s:
            active = await s.run_sync(q.active_counts, limits)
        out = list(tracked)
        held = self.held()
        for i in idle:
            t = tracked[i]
            one = Candidate(t.id, t.owner, t.client, 0, site_of(t.url))
            message = waiting_reason(one, active, limits)
            if held is not None:
                message = held
            out[i] = dataclasses.replace(t, message=message)
        return out

    async def events(self, download_id: int, owner: Owner) -> list[DownloadEvent]:
        await self._row(download_id, owner)
        async with self.db.read() as s:
            query = (
                select(DownloadEvent)
                .where(DownloadEvent.download_id == download_id)
                .order_by(DownloadEvent.id)
            )
            events = list((await s.scalars(query)).all())
            s.expunge_all()  # what a viewer may not read is changed on these copies only
        return events_for(events, owner)

    async def _row(self, download_id: int, owner: Owner) -> Download:
        async with self.db.read() as s:
            row = await s.get(Download, download_id)
        if row is None or row.hidden or (not owner.is_admin and row.owner_key != owner.key):
            raise NotFound(f"There is no download {download_id}.")
        return row

    async def _children(self, s: Any, parent_ids: list[int]) -> dict[int, Playlist]:
        """What the entries of the playlists ``parent_ids`` add up to (read from their rows)."""
        counts: dict[int, Counter[str]] = defaultdict(Counter)
        sizes: dict[int, int] = {}
        last: dict[int, datetime] = {}
        for parent, phase, paused, files, completed_at in await q.child_status_rows(s, parent_ids):
            status = phase_status(phase, paused)
            counts[parent][status] += 1
            if status == Status.COMPLETED:
                sizes[parent] = sizes.get(parent, 0) + (files_size(files) or 0)
                if completed_at is not None and (parent not in last or completed_at > last[parent]):
                    last[parent] = completed_at
        return {
            parent: Playlist(dict(counted), sizes.get(parent), last.get(parent))
            for parent, counted in counts.items()
        }

    async def owner_folder(self, owner_key: str) -> str:
        """The folder under the download root an owner's new files go to (see
        :func:`haul.core.paths.owner_folder`): accounts and visitors each have their own."""
        kind, _, rest = owner_key.partition(":")
        names = await self._user_names([int(rest)]) if kind == "user" and rest.isdigit() else {}
        return owner_folder(owner_key, names.get(int(rest)) if names else None)

    async def _user_names(self, ids: Iterable[int]) -> dict[int, str]:
        async with self.db.read() as s:
            rows = await s.execute(select(User.id, User.username).where(User.id.in_(list(ids))))
        return {int(user_id): str(name) for user_id, name in rows.all()}

    async def publish_ids(self, ids: Sequence[int], *, local: bool = True) -> None:
        """:meth:`publish` of downloads known by their ids, read and tracked together (a
        download gone meanwhile: nothing to tell). ``local=False``: to this process's
        subscribers only (every process tells its own)."""
        if not ids:
            return
        async with self.db.read() as s:
            rows = list((await s.scalars(select(Download).where(Download.id.in_(ids)))).all())
        if any(row.parent_id is not None for row in rows):
            for row in rows:
                await self.publish(row)
            return
        tracked, _ = await self.tracker.track_rows(rows)
        tracked = await self._explained(tracked)
        for row, one in zip(rows, tracked, strict=True):
            shown = to_json(tracked_for(one, None))
            self.bus.publish("status", row.id, row.owner_key, local=local, download=shown)

    async def publish_each(self, ids: Sequence[int]) -> None:
        """:meth:`publish` of every download of ``ids`` (those a worker just admitted)."""
        async with self.db.read() as s:
            rows = (await s.scalars(select(Download).where(Download.id.in_(ids)))).all()
        for row in rows:
            await self.publish(row)

    async def caught_up(self, since: datetime) -> None:
        """After this process missed other processes' events (the event bridge was cut from
        PostgreSQL): tell its subscribers again of the downloads whose state changed since
        ``since``. Live progress comes back with the next progress events."""
        async with self.db.read() as s:
            ids = await q.changed_since(s, since)
        await self.publish_ids(ids, local=False)
        log.info("caught up after the event bridge reconnected: %d downloads told", len(ids))

    async def publish(self, row: Download) -> None:
        """Tell subscribers a download changed state (the worker calls this after each write).

        A playlist's status derives from its children's, so a child's change is its parent's
        change too.
        """
        tracked, _ = await self.tracker.track_rows([row])
        tracked = await self._explained(tracked)
        shown = tracked_for(tracked[0], None)
        self.bus.publish("status", row.id, row.owner_key, download=to_json(shown))
        if row.parent_id is not None:
            async with self.db.read() as s:
                parent = await s.get(Download, row.parent_id)
                children = await self._children(s, [row.parent_id])
            if parent is not None:
                tracked, _ = await self.tracker.track_rows([parent], children)
                shown = tracked_for(tracked[0], None)
                self.bus.publish("status", parent.id, parent.owner_key, download=to_json(shown))

    # -- control --------------------------------------------------------------------------

    async def pause(self, download_id: int, owner: Owner) -> Tracked:
        return await self._want_paused(download_id, owner, paused=True)

    async def resume(self, download_id: int, owner: Owner) -> Tracked:
        return await self._want_paused(download_id, owner, paused=False)

    async def set_speed_limit(self, download_id: int, owner: Owner, rate: int | None) -> Tracked:
        """Give the download its own speed limit (None: none). A running transfer of the
        built-in engine follows within the worker's reconcile interval (it reads the limit
        with the wanted state, wherever it runs); the history says so."""
        await self._row(download_id, owner)
        async with self.db.write() as s:
            db_row = await s.get(Download, download_id)
            assert db_row is not None
            if db_row.speed_limit != rate:
                db_row.speed_limit = rate
                said = rate_text(rate)
                q.add_event(s, download_id, "speed_limit", f"Speed limit: {said}.", limit=rate)
        return await self._changed(download_id, owner)

    async def _want_paused(self, download_id: int, owner: Owner, *, paused: bool) -> Tracked:
        """Record the wish (sticky: the reconciler re-applies it), then tell the client."""
        command = lifecycle.pause if paused else lifecycle.resume
        row = await self._row(download_id, owner)
        command(snapshot(row))  # refused here when it is finished
        async with self.db.write() as s:
            db_row = await s.get(Download, download_id)
            assert db_row is not None
            await _apply(s, db_row, command(snapshot(db_row)))
        if row.client == q.BUILTIN or (row.client is None and row.phase == Phase.ADMITTED):
            builtin = self.builtin
            await (builtin.pause if paused else builtin.resume)(str(row.id))
        elif _on_external(row) and row.phase == Phase.ACTIVE:
            await self._tell_client(row, paused=paused)
        if not paused:
            self.wake()
        return await self._changed(download_id, owner)

    async def _tell_client(self, row: Download, *, paused: bool) -> None:
        """Pause or resume on the client now; if it cannot be reached, the monitor does it
        when it is back (a pause is re-applied anyway, a resume is remembered as owed)."""
        ref = str(row.client_ref)
        try:
            await self.directory.call(
                str(row.client), lambda c: c.pause(ref) if paused else c.resume(ref)
            )
        except ClientError as exc:
            log.info("download %s: %s not told yet: %s", row.id, row.client, exc.message)
            if not paused:
                async with self.db.write() as s:
                    db_row = await s.get(Download, row.id)
                    if db_row is not None:
                        db_row.meta = {**db_row.meta, "resume_owed": True}

    async def stop(self, download_id: int, owner: Owner) -> Tracked:
        """End a live recording, keeping what it recorded: the wish is recorded (a worker
        that runs it, in any process, or the next attempt after a crash, finishes it), then
        the job running here, if it is, is told at once."""
        row = await self._row(download_id, owner)
        lifecycle.stop(snapshot(row))  # refused here when it is no live recording
        async with self.db.write() as s:
            db_row = await s.get(Download, download_id)
            assert db_row is not None
            await _apply(s, db_row, lifecycle.stop(snapshot(db_row)))
        if row.client == q.BUILTIN:
            self.builtin.finish(str(row.id))
        return await self._changed(download_id, owner)

    async def retry(self, download_id: int, owner: Owner) -> Tracked:
        row = await self._row(download_id, owner)
        change = lifecycle.retry(snapshot(row), missing=await self._missing(row))
        async with self.db.write(admission=owner.ip_limit is not None) as s:
            db_row = await s.get(Download, download_id)
            assert db_row is not None
            if owner.ip_limit is not None:
                limits = (owner.limit, owner.ip_limit)
                refusal = await s.run_sync(
                    visitor_refusal, owner.key, owner.ip, limits, but=download_id
                )
                if refusal is not None:
                    raise refusal
            await _apply(s, db_row, change)
        self.wake()
        return await self._changed(download_id, owner)

    async def _missing(self, row: Download) -> bool:
        """Whether the client holding an active download answers that it no longer has it
        (lost in a crash of the client, or removed there): a retry adds it again from its
        source. A client that cannot be reached proves nothing."""
        if row.phase != Phase.ACTIVE or not _on_external(row):
            return False
        ref = str(row.client_ref)
        try:
            return ref not in await self.directory.items(str(row.client), [ref])
        except ClientError:
            return False

    async def cancel(
        self, download_id: int, owner: Owner, *, delete_files: bool = False, hide: bool = False
    ) -> Tracked:
        row = await self._row(download_id, owner)
        async with self.db.write() as s:
            db_row = await s.get(Download, download_id)
            assert db_row is not None
            now = utcnow()
            if lifecycle.allowed(Command.CANCEL, db_row.phase):
                change = lifecycle.cancel(snapshot(db_row), at=now, delete_files=delete_files)
                await _apply(s, db_row, change)
            db_row.hidden = db_row.hidden or hide
            if row.phase == Phase.PARENT:
                for child in (
                    await s.scalars(
                        select(Download).where(
                            Download.parent_id == download_id,
                            Download.phase.in_([p.value for p in OPEN_PHASES]),
                        )
                    )
                ).all():
                    change = lifecycle.cancel(snapshot(child), at=now, delete_files=delete_files)
                    await _apply(s, child, change, record=False)
        if row.client and row.client != q.BUILTIN and row.client_ref:
            if row.phase in OPEN_PHASES or (delete_files and row.client_released_at is None):
                await self._remove_from_client(row, delete_files=delete_files)
        elif row.client_ref and row.client in self.clients and row.phase in OPEN_PHASES:
            await self.clients[row.client].remove(row.client_ref, delete_data=delete_files)
        elif delete_files and row.phase != Phase.PARENT:
            # open, or stopped earlier (canceled, failed): its partial data goes either way
            self.builtin.delete_partial(download_id)
        if delete_files and row.phase == Phase.COMPLETED:
            await self._delete_finished(row)
        thumbnail = download_thumbnail(row.meta or {}) if hide else None
        if thumbnail is not None:
            self.removed_thumbnail(thumbnail)
        self.wake()
        async with self.db.read() as s:
            final = await s.get(Download, download_id)
        assert final is not None
        tracked, _ = await self.tracker.track_rows([final])
        self.bus.publish(
            "removed" if hide else "status",
            download_id,
            final.owner_key,
            download=to_json(tracked_for(tracked[0], None)),
        )
        return tracked_for(tracked[0], owner)

    async def _remove_from_client(self, row: Download, *, delete_files: bool) -> None:
        """Remove a canceled download's item from its client; if the client cannot be reached
        the monitor removes it when it is back (the row says the removal is still owed)."""
        ref = str(row.client_ref)
        try:
            if delete_files:
                # Data is deleted only inside haul's download root: an adopted item, or one
                # a person moved elsewhere, keeps its files.
                held = (await self.directory.items(str(row.client), [ref])).get(ref)
                delete_files = held is not None and saved_inside(held, self.builtin.root)
            await self.directory.call(
                str(row.client), lambda c: c.remove(ref, delete_data=delete_files)
            )
        except ClientItemNotFound:
            pass  # the client no longer holds it: nothing is left to remove
        except ClientError as exc:
            log.info("download %s: %s removes it later: %s", row.id, row.client, exc.message)
            async with self.db.write() as s:
                db_row = await s.get(Download, row.id)
                if db_row is None:
                    return
                if lifecycle.allowed(Command.DEFER_REMOVAL, db_row.phase):
                    owed = lifecycle.defer_removal(snapshot(db_row), delete_files=delete_files)
                    await _apply(s, db_row, owed)
                else:  # stopped already: the removal it owes says whether the files go
                    db_row.cancel_delete_partial = delete_files
            return
        async with self.db.write() as s:
            db_row = await s.get(Download, row.id)
            if db_row is not None:
                db_row.client_released_at = utcnow()

    async def delete_data(self, download_id: int) -> None:
        """Delete what a download already out of view left (partial data, its own finished
        files, what its client still holds): its account is being deleted."""
        async with self.db.read() as s:
            row = await s.get(Download, download_id)
        if row is None:
            return
        if not _on_external(row):
            self.builtin.delete_partial(download_id)
        elif row.client_released_at is None:
            await self._remove_from_client(row, delete_files=True)
        await self._delete_finished(row)

    async def _delete_finished(self, row: Download) -> None:
        """Delete a finished download's own data: what it left in the downloads folder, each
        file against the folder it lives in; what it filed into the library stays with its
        media item (deleted with the item's files, in the library)."""
        async with self.db.read() as s:
            records = await recorded_files(s, [row.id])
        folders = Folders(self.builtin.root, self.library_root)
        paths = folders.own_data(row.files or [], records.get(row.id, []))
        await asyncio.to_thread(remove_inside, paths, (folders.downloads,))

    async def file_path(self, download_id: int, owner: Owner, index: int = 0) -> Path:
        row = await self._row(download_id, owner)
        if row.phase != Phase.COMPLETED or not row.files:
            raise NotFound(f"Download {download_id} has no finished file yet.")
        if not 0 <= index < len(row.files):
            raise NotFound(f"Download {download_id} has no file number {index}.")
        entry = row.files[index]
        root = entry_root(entry, self.builtin.root, self.library_root)
        path = root / str(entry.get("path", ""))
        if not inside(path, root) or not path.is_file():
            raise NotFound(f"The file of download {download_id} is no longer on disk.")
        return path

    async def thumbnail_source(self, download_id: int, owner: Owner) -> str:
        """Where the download's thumbnail comes from (a site's address, for haul to fetch);
        :class:`NotFound` when the download is not ``owner``'s to see or has none."""
        row = await self._row(download_id, owner)
        source = download_thumbnail(row.meta or {})
        if source is None:
            raise NotFound(f"Download {download_id} has no thumbnail.")
        return source

    async def _changed(self, download_id: int, owner: Owner) -> Tracked:
        tracked = await self.get(download_id, owner)
        shown = tracked_for(tracked, None)
        self.bus.publish("status", download_id, tracked.owner, download=to_json(shown))
        return tracked


def _idle(tracked: Tracked) -> bool:
    """A queued download waiting for a slot with nothing said yet (not a retry waiting for
    its time, not a download waiting for disk space)."""
    return (
        tracked.status is Status.QUEUED
        and tracked.message is None
        and tracked.error is None
        and tracked.retry_at is None
    )


async def _check_choice(source: Source, options: SubmitOptions) -> None:
    """A download's own format or audio goes to yt-dlp: refused for a torrent, beside another
    client, or (the format) when yt-dlp cannot read it."""
    if source.kind in ("magnet", "torrent"):
        field = "format" if options.format is not None else "audio_format"
        raise InvalidChoice(
            {field: "A format or an audio choice is for pages and streams; a torrent has none."}
        )
    if options.client not in (None, BUILTIN):
        raise InvalidChoice(
            {
                "client": f"A format or an audio choice is yt-dlp's, in the built-in engine; "
                f"{options.client} cannot apply it."
            }
        )
    if options.format is not None:
        from haul.engine.ytdlp_formats import selector_problem  # yt-dlp loads when first asked

        problem = await asyncio.to_thread(selector_problem, options.format)
        if problem is not None:
            raise InvalidChoice({"format": problem})
