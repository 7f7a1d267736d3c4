"""Download operations every interface shares: submit, list, show, pause, resume, retry, cancel.

The list joins download rows with one bulk ``items`` call per client, all clients asked at
once, each under its own timeout; a client that cannot answer makes its downloads ``unknown``
and is reported beside the list, never deletes a row.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from haul.clients.base import ClientItem, DownloadClient
from haul.clients.builtin.client import BuiltinClient
from haul.core.admission import Limits
from haul.core.paths import inside
from haul.core.sources import Source, parse_source
from haul.core.status import OPEN_PHASES, Phase, Status
from haul.core.tracking import Tracked, track
from haul.engine.base import Profile as EngineProfile
from haul.errors import HaulError, InputError, InvalidTransition, NotFound, UnknownProfile
from haul.events.bus import EventBus
from haul.store import downloads as q
from haul.store.database import Database
from haul.store.models import Download, DownloadEvent, Profile, utcnow
from haul.store.submits import NewDownload, submit_many

log = logging.getLogger(__name__)

CLIENT_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class Owner:
    key: str = "local"
    user_id: int | None = None
    session_id: str | None = None
    ip: str | None = None
    is_admin: bool = True
    limit: int | None = None


SUBMIT_BATCH = 500


@dataclass(frozen=True, slots=True)
class _SubmitRequest:
    source: Source
    owner: Owner
    done: asyncio.Future[Download]
    options: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ClientState:
    name: str
    ok: bool
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Tracked]
    next_cursor: str | None
    clients: list[ClientState]


class DownloadService:
    def __init__(
        self,
        db: Database,
        bus: EventBus,
        clients: dict[str, DownloadClient],
        *,
        limits: Callable[[], Limits],
        policy: Callable[[], str],
        allow_private: bool,
        poke: Callable[[], None] = lambda: None,
    ) -> None:
        self.db = db
        self.bus = bus
        self.clients = clients
        self.limits = limits
        self.policy = policy
        self.allow_private = allow_private
        self.poke = poke
        self._pending: list[_SubmitRequest] = []
        self._flusher: asyncio.Task[None] | None = None

    @property
    def builtin(self) -> BuiltinClient:
        client = self.clients["builtin"]
        assert isinstance(client, BuiltinClient)
        return client

    # -- submit ---------------------------------------------------------------------------

    async def submit(
        self,
        url: str,
        owner: Owner,
        *,
        profile: str | None = None,
        client: str | None = None,
        media_id: int | None = None,
        paused: bool = False,
        priority: int = 0,
        title: str | None = None,
    ) -> Tracked:
        source = parse_source(url, allow_private=self.allow_private)
        if client is not None and client not in self.clients:
            raise UnknownClientError(client)
        request = _SubmitRequest(
            source,
            owner,
            asyncio.get_running_loop().create_future(),
            {
                "profile": profile,
                "client": client,
                "media_id": media_id,
                "paused": paused,
                "priority": priority,
                "title": title,
            },
        )
        self._pending.append(request)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="haul-submit-flush")
        row = await request.done
        self.poke()
        tracked = track(row, None)
        self.bus.publish("created", row.id, row.owner_key, download=to_json(tracked))
        return tracked

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

    def _store(self, s: Session, *, batch: list[_SubmitRequest]) -> list[Download | HaulError]:
        """Store a batch (runs whole in the database thread: no awaits here)."""
        names = {r.options["profile"] for r in batch if r.options["profile"] is not None}
        profiles: dict[str, int] = {}
        if names:
            found = s.execute(select(Profile.name, Profile.id).where(Profile.name.in_(names)))
            profiles = {name: int(i) for name, i in found.all()}
        items: list[NewDownload] = []
        refused: dict[int, HaulError] = {}
        for index, request in enumerate(batch):
            options = request.options
            name = options["profile"]
            if name is not None and name not in profiles:
                refused[index] = UnknownProfile(f"There is no profile named {name!r}.")
                continue
            owner = request.owner
            items.append(
                NewDownload(
                    request.source,
                    owner.key,
                    owner.limit,
                    options["paused"],
                    options["priority"],
                    {
                        "user_id": owner.user_id,
                        "session_id": owner.session_id,
                        "ip": owner.ip,
                        "profile_id": profiles.get(name) if name else None,
                        "media_id": options["media_id"],
                        "requested_client": options["client"],
                        "title": options["title"],
                    },
                )
            )
        stored = iter(submit_many(s, items, limits=self.limits(), policy=self.policy()))
        return [refused[i] if i in refused else next(stored) for i in range(len(batch))]

    async def engine_profile(self, profile_id: int | None) -> EngineProfile:
        if profile_id is None:
            return EngineProfile()
        async with self.db.read() as s:
            row = await s.get(Profile, profile_id)
        if row is None:
            return EngineProfile()
        return EngineProfile(
            name=row.name,
            format=row.format,
            container=row.container,
            subtitles=tuple(row.subtitles or ()),
            output_template=row.output_template or EngineProfile().output_template,
        )

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
    ) -> Page:
        query = select(Download).where(Download.hidden.is_(False))
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
        phases = _phases_for(status)
        if phases is not None:
            query = query.where(Download.phase.in_(phases))
        if cursor:
            query = query.where(Download.id < _cursor_id(cursor))
        async with self.db.read() as s:
            rows = list(
                (await s.scalars(query.order_by(Download.id.desc()).limit(limit + 1))).all()
            )
            more = len(rows) > limit
            rows = rows[:limit]
            children = await self._children(s, [r.id for r in rows if r.phase == Phase.PARENT])
        tracked, states = await self.track_rows(rows, children)
        if status:
            tracked = [t for t in tracked if t.status in status]
        return Page(tracked, str(rows[-1].id) if more and rows else None, states)

    async def get(self, download_id: int, owner: Owner) -> Tracked:
        row = await self._row(download_id, owner)
        async with self.db.read() as s:
            children = await self._children(s, [row.id] if row.phase == Phase.PARENT else [])
        tracked, _ = await self.track_rows([row], children)
        return tracked[0]

    async def events(self, download_id: int, owner: Owner) -> list[DownloadEvent]:
        await self._row(download_id, owner)
        async with self.db.read() as s:
            query = (
                select(DownloadEvent)
                .where(DownloadEvent.download_id == download_id)
                .order_by(DownloadEvent.id)
            )
            return list((await s.scalars(query)).all())

    async def _row(self, download_id: int, owner: Owner) -> Download:
        async with self.db.read() as s:
            row = await s.get(Download, download_id)
        if row is None or row.hidden or (not owner.is_admin and row.owner_key != owner.key):
            raise NotFound(f"There is no download {download_id}.")
        return row

    async def _children(self, s: Any, parent_ids: list[int]) -> dict[int, dict[str, int]]:
        counts: dict[int, Counter[str]] = defaultdict(Counter)
        for parent, phase, paused in await q.child_status_rows(s, parent_ids):
            status = _phase_status(phase, paused)
            counts[parent][status] += 1
        return {k: dict(v) for k, v in counts.items()}

    async def track_rows(
        self, rows: Sequence[Download], children: dict[int, dict[str, int]] | None = None
    ) -> tuple[list[Tracked], list[ClientState]]:
        """Join rows with their clients' live items: one bulk call per client, concurrently."""
        refs: dict[str, list[str]] = defaultdict(list)
        for row in rows:
            client, ref = _association(row)
            if client is not None and ref is not None:
                refs[client].append(ref)
        names = list(refs)
        answers = await asyncio.gather(*(self._ask(name, refs[name]) for name in names))
        items = dict(zip(names, answers, strict=True))
        states = [
            ClientState(name, ok=not isinstance(items.get(name), str), error=_err(items.get(name)))
            for name in self.clients
        ]
        children = children or {}
        result = []
        for row in rows:
            client, ref = _association(row)
            answer = items.get(client or "")
            if isinstance(answer, str):
                result.append(track(row, None, client_error=answer, children=children.get(row.id)))
                continue
            item = answer.get(ref or "") if answer else None
            result.append(
                track(
                    row, item, children=children.get(row.id) if row.phase == Phase.PARENT else None
                )
            )
        return result, states

    async def _ask(self, name: str, refs: list[str]) -> dict[str, ClientItem] | str:
        client = self.clients.get(name)
        if client is None:
            return f"the client {name!r} is not configured"
        try:
            return await asyncio.wait_for(client.items(refs), CLIENT_TIMEOUT)
        except TimeoutError:
            return f"{name} did not answer within {CLIENT_TIMEOUT:g} s"
        except Exception as exc:
            log.warning("client %s failed: %s", name, exc)
            return f"{name}: {exc}"

    async def publish(self, row: Download) -> None:
        """Tell subscribers a download changed state (the worker calls this after each write).

        A playlist's status derives from its children's, so a child's change is its parent's
        change too.
        """
        tracked, _ = await self.track_rows([row])
        self.bus.publish("status", row.id, row.owner_key, download=to_json(tracked[0]))
        if row.parent_id is not None:
            async with self.db.read() as s:
                parent = await s.get(Download, row.parent_id)
                children = await self._children(s, [row.parent_id])
            if parent is not None:
                tracked, _ = await self.track_rows([parent], children)
                self.bus.publish(
                    "status", parent.id, parent.owner_key, download=to_json(tracked[0])
                )

    # -- control --------------------------------------------------------------------------

    async def pause(self, download_id: int, owner: Owner) -> Tracked:
        return await self._want_paused(download_id, owner, paused=True)

    async def resume(self, download_id: int, owner: Owner) -> Tracked:
        return await self._want_paused(download_id, owner, paused=False)

    async def _want_paused(self, download_id: int, owner: Owner, *, paused: bool) -> Tracked:
        """Record the wish (sticky: the reconciler re-applies it), then tell the client."""
        row = await self._row(download_id, owner)
        if row.phase not in OPEN_PHASES:
            verb = "paused" if paused else "resumed"
            raise InvalidTransition(
                f"Download {download_id} is {row.phase}; only unfinished downloads can be {verb}."
            )
        async with self.db.write() as s:
            db_row = await s.get(Download, download_id)
            assert db_row is not None
            if db_row.desired_paused != paused:
                db_row.desired_paused = paused
                if paused and db_row.phase == Phase.ADMITTED and db_row.lease_worker_id is None:
                    db_row.phase = Phase.QUEUED.value  # give the slot back
                if not paused and db_row.phase == Phase.QUEUED:
                    db_row.queue_rank = await q.queue_rank_for(s, db_row.owner_key, front=True)
                q.add_event(s, download_id, "pause_requested" if paused else "resume_requested")
        client = self.clients.get(row.client or "")
        if client is not None and row.client_ref:
            await (client.pause if paused else client.resume)(row.client_ref)
        if not paused:
            self.poke()
        return await self._changed(download_id, owner)

    async def retry(self, download_id: int, owner: Owner) -> Tracked:
        row = await self._row(download_id, owner)
        if row.phase not in (Phase.FAILED, Phase.CANCELED) and not (
            row.phase == Phase.QUEUED and row.retry_next_at
        ):
            raise InvalidTransition(
                f"Download {download_id} is {row.phase}; "
                "only failed or canceled downloads can be retried."
            )
        async with self.db.write() as s:
            db_row = await s.get(Download, download_id)
            assert db_row is not None
            db_row.phase = Phase.QUEUED.value
            db_row.canceled_at = None
            db_row.desired_paused = False
            db_row.retry_attempt = 0
            db_row.retry_next_at = None
            db_row.failed_at = None
            db_row.last_error_code = db_row.last_error_message = None
            db_row.meta = {k: v for k, v in db_row.meta.items() if k != "resolved"}
            db_row.queue_rank = await q.queue_rank_for(s, db_row.owner_key)
            q.add_event(s, download_id, "retry_requested")
        self.poke()
        return await self._changed(download_id, owner)

    async def cancel(
        self, download_id: int, owner: Owner, *, delete_files: bool = False, hide: bool = False
    ) -> Tracked:
        row = await self._row(download_id, owner)
        async with self.db.write() as s:
            db_row = await s.get(Download, download_id)
            assert db_row is not None
            if db_row.phase in OPEN_PHASES or db_row.phase == Phase.PARENT:
                db_row.phase = Phase.CANCELED.value
                db_row.canceled_at = utcnow()
                db_row.cancel_delete_partial = delete_files
                q.add_event(s, download_id, "canceled", delete_files=delete_files)
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
                    child.phase = Phase.CANCELED.value
                    child.canceled_at = utcnow()
                    child.cancel_delete_partial = delete_files
        if (
            row.client
            and row.client_ref
            and row.client in self.clients
            and row.phase in OPEN_PHASES
        ):
            await self.clients[row.client].remove(row.client_ref, delete_data=delete_files)
        elif delete_files and row.phase in OPEN_PHASES:
            self.builtin.delete_partial(download_id)
        if delete_files and row.phase == Phase.COMPLETED:
            self._delete_finished(row)
        self.poke()
        async with self.db.read() as s:
            final = await s.get(Download, download_id)
        assert final is not None
        tracked, _ = await self.track_rows([final])
        self.bus.publish(
            "removed" if hide else "status",
            download_id,
            final.owner_key,
            download=to_json(tracked[0]),
        )
        return tracked[0]

    def _delete_finished(self, row: Download) -> None:
        root = self.builtin.root
        for entry in row.files:
            path = root / str(entry.get("path", ""))
            if inside(path, root) and path.is_file():
                path.unlink()

    async def file_path(self, download_id: int, owner: Owner, index: int = 0) -> Path:
        row = await self._row(download_id, owner)
        if row.phase != Phase.COMPLETED or not row.files:
            raise NotFound(f"Download {download_id} has no finished file yet.")
        if not 0 <= index < len(row.files):
            raise NotFound(f"Download {download_id} has no file number {index}.")
        path = self.builtin.root / str(row.files[index].get("path", ""))
        if not inside(path, self.builtin.root) or not path.is_file():
            raise NotFound(f"The file of download {download_id} is no longer on disk.")
        return path

    async def _changed(self, download_id: int, owner: Owner) -> Tracked:
        tracked = await self.get(download_id, owner)
        self.bus.publish("status", download_id, tracked.owner, download=to_json(tracked))
        return tracked


class UnknownClientError(InputError):
    """There is no download client with that name."""

    code = "unknown_client"

    def __init__(self, name: str) -> None:
        super().__init__(f"There is no download client named {name!r}.")


def _association(row: Download) -> tuple[str | None, str | None]:
    """Which client to ask about a row, and under which id; a built-in job being resolved has
    no association yet but already has live state."""
    if row.phase not in (Phase.ACTIVE, Phase.QUEUED, Phase.ADMITTED):
        return None, None
    if row.client is None and row.phase == Phase.ADMITTED:
        return "builtin", str(row.id)
    return row.client, row.client_ref


def _err(answer: object) -> str | None:
    return answer if isinstance(answer, str) else None


_STATUS_PHASES: dict[str, list[str]] = {
    Status.QUEUED: [Phase.QUEUED, Phase.PARENT],
    Status.RESOLVING: [Phase.ADMITTED, Phase.PARENT],
    Status.PAUSED: [Phase.QUEUED, Phase.ADMITTED, Phase.ACTIVE],
    Status.PROCESSING: [Phase.PROCESSING, Phase.ACTIVE],
    Status.COMPLETED: [Phase.COMPLETED, Phase.PARENT],
    Status.FAILED: [Phase.FAILED, Phase.PARENT],
    Status.CANCELED: [Phase.CANCELED, Phase.ACTIVE],
}


def _phases_for(statuses: Sequence[str]) -> list[str] | None:
    """The phases whose rows can have one of ``statuses`` (None: no narrowing possible)."""
    if not statuses:
        return None
    phases: set[str] = set()
    for status in statuses:
        phases.update(_STATUS_PHASES.get(status, [Phase.ACTIVE, Phase.PARENT]))
    return [str(p) for p in phases]


def _phase_status(phase: str, paused: bool) -> str:
    if paused and phase in (Phase.QUEUED, Phase.ADMITTED, Phase.ACTIVE):
        return Status.PAUSED
    return {
        Phase.QUEUED: Status.QUEUED,
        Phase.ADMITTED: Status.RESOLVING,
        Phase.ACTIVE: Status.DOWNLOADING,
        Phase.PROCESSING: Status.PROCESSING,
        Phase.COMPLETED: Status.COMPLETED,
        Phase.FAILED: Status.FAILED,
        Phase.CANCELED: Status.CANCELED,
        Phase.PARENT: Status.QUEUED,
    }[Phase(phase)]


def _cursor_id(cursor: str) -> int:
    try:
        return int(cursor)
    except ValueError:
        raise InvalidCursor() from None


class InvalidCursor(InputError):
    """The cursor is not one this server handed out."""

    code = "invalid_cursor"


_TRACKED_FIELDS = tuple(f.name for f in fields(Tracked))


def to_json(t: Tracked) -> dict[str, Any]:
    """The JSON form of a tracked download. Shallow on purpose: it runs for every list row
    and every event, and nothing here is mutated afterwards (``asdict`` deep-copied the file
    lists, the largest cost of a busy server)."""
    data = {name: getattr(t, name) for name in _TRACKED_FIELDS}
    for key in ("created_at", "completed_at", "retry_at"):
        value = data[key]
        if isinstance(value, datetime):
            data[key] = value.isoformat()
    data["status"] = t.status.value
    return data
