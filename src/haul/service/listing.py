"""Joining stored downloads with their clients' live items, and the list's filters.

One bulk ``items`` call per client per list, all clients asked at once, each under its own
timeout; a client that cannot answer makes its downloads ``unknown`` and is reported beside
the list, never deletes a row.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence

from haul.clients.directory import NARROW_AT_MOST, ClientDirectory
from haul.core.client_items import ClientItem
from haul.core.images import download_thumbnail
from haul.core.owners import owner_name
from haul.core.status import Phase
from haul.core.tracking import DownloadRow, Playlist, Tracked, track
from haul.errors import ClientError, InvalidCursor
from haul.service.values import ClientState

log = logging.getLogger(__name__)


class ClientTracker:
    def __init__(
        self,
        directory: ClientDirectory,
        user_names: Callable[[Iterable[int]], Awaitable[Mapping[int, str]]] | None = None,
        thumbnail_failed: Callable[[str], bool] = lambda source: False,
    ) -> None:
        self.directory = directory
        #: The names of accounts by id (owners are shown by name, not by key).
        self.user_names = user_names
        #: Whether the fetch of a thumbnail (by its source address) failed: a download whose
        #: picture could not be had shows none (its thumbnail_url is null).
        self.thumbnail_failed = thumbnail_failed

    def prefetch(self) -> dict[str, asyncio.Task[dict[str, ClientItem] | str]]:
        """Start asking every configured client for all of haul's items now, for a long page:
        the calls then overlap the database read instead of following it (a long page asks
        each client for everything anyway, see :meth:`ClientDirectory.items`)."""
        return {name: asyncio.ensure_future(self._ask(name, None)) for name in self.directory.specs}

    async def track_rows(
        self,
        rows: Sequence[DownloadRow],
        children: dict[int, Playlist] | None = None,
        prefetched: dict[str, asyncio.Task[dict[str, ClientItem] | str]] | None = None,
    ) -> tuple[list[Tracked], list[ClientState]]:
        """Join rows with their clients' live items: one bulk call per client, concurrently."""
        refs: dict[str, list[str]] = defaultdict(list)
        associations = [_association(row) for row in rows]
        for client, ref in associations:
            if client is not None and ref is not None:
                refs[client].append(ref)
        early = prefetched or {}
        names = list(refs) + [name for name in early if name not in refs]
        answers = await asyncio.gather(
            *(early[name] if name in early else self._ask(name, refs[name]) for name in names)
        )
        items = dict(zip(names, answers, strict=True))
        for name in early:
            await self._ask_absent(name, refs.get(name, []), items[name])
        states = []
        for name in self.directory.clients:
            error = _err(items[name]) if name in items else self.directory.unreachable(name)
            states.append(ClientState(name, ok=error is None, error=error))
        children = children or {}
        owners = await self.names(row.owner_key for row in rows)
        result = []
        for row, (client, ref) in zip(rows, associations, strict=True):
            answer = items.get(client or "")
            owner = owners.get(row.owner_key)
            source = download_thumbnail(row.meta or {})
            shown = source is not None and not self.thumbnail_failed(source)
            if isinstance(answer, str):
                result.append(
                    track(
                        row,
                        None,
                        client_error=answer,
                        children=children.get(row.id),
                        owner_name=owner,
                        thumbnail=shown,
                    )
                )
                continue
            item = answer.get(ref or "") if answer else None
            playlist = children.get(row.id) if row.phase == Phase.PARENT else None
            result.append(track(row, item, children=playlist, owner_name=owner, thumbnail=shown))
        return result, states

    async def _ask_absent(
        self, name: str, refs: list[str], answer: dict[str, ClientItem] | str
    ) -> None:
        """Ask by id for the rows' items a listing of all of haul's items lacked (a few
        dozen at most): an item haul recorded is haul's even when it lost its category or
        label in a crash of the client. Adds what it finds to ``answer``."""
        if isinstance(answer, str):
            return
        absent = [ref for ref in refs if ref not in answer][:NARROW_AT_MOST]
        if absent:
            found = await self._ask(name, absent)
            if not isinstance(found, str):
                answer.update(found)

    async def names(self, owner_keys: Iterable[str]) -> dict[str, str]:
        """The owners as people read them, by owner key (an account by its user name)."""
        keys = set(owner_keys)
        ids = {int(k[5:]) for k in keys if k.startswith("user:") and k[5:].isdigit()}
        users = await self.user_names(ids) if ids and self.user_names is not None else {}
        return {key: owner_name(key, users) for key in keys}

    async def _ask(self, name: str, refs: list[str] | None) -> dict[str, ClientItem] | str:
        """One bulk call (a message instead when the client cannot answer); None: all."""
        try:
            if refs is None:
                return await self.directory.call(name, lambda client: client.items(None))
            return await self.directory.items(name, refs)
        except ClientError as exc:
            return exc.message
        except Exception as exc:
            log.warning("client %s failed: %s", name, exc, exc_info=True)
            return f"{name} failed: {exc}"


_ASKED_PHASES = frozenset({Phase.ACTIVE.value, Phase.QUEUED.value, Phase.ADMITTED.value})
_NOT_ASKED: tuple[None, None] = (None, None)


def _association(row: DownloadRow) -> tuple[str | None, str | None]:
    """Which client to ask about a row, and under which id; a built-in job being resolved has
    no association yet but already has live state. (Runs for every listed row.)"""
    phase = row.phase
    if phase not in _ASKED_PHASES:
        return _NOT_ASKED
    if row.client is None and phase == "admitted":
        return "builtin", str(row.id)
    return row.client, row.client_ref


def _err(answer: object) -> str | None:
    return answer if isinstance(answer, str) else None


#: Ids are 32-bit on PostgreSQL: a larger cursor is no cursor this server handed out.
MAX_ID = 2**31 - 1


def cursor_id(cursor: str) -> int:
    """The id a cursor this server handed out stands for (digits only, within the id range)."""
    if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > 10 or int(cursor) > MAX_ID:
        raise InvalidCursor()
    return int(cursor)
