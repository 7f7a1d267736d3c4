"""Configuring download clients: add, change, remove, test; untracked items and adopting them.

A client's secret (password or RPC secret) goes in and never comes out: what the service
returns is a :class:`ClientView` with ``has_secret`` instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from haul.clients.base import ClientHealth
from haul.clients.directory import ClientDirectory, close_client
from haul.clients.registry import address_problem, build_client, check_spec, shown_url
from haul.core.client_items import ClientItem
from haul.core.client_specs import ClientSpec
from haul.core.routing import BUILTIN
from haul.core.sites import site_of
from haul.core.sources import parse_source
from haul.core.status import Phase
from haul.core.torrents import magnet_info_hash
from haul.errors import (
    ClientError,
    Conflict,
    ForbiddenAddress,
    InputError,
    InvalidTorrent,
    NotFound,
)
from haul.net import guard
from haul.service.values import Owner
from haul.store import clients as cq
from haul.store import downloads as q
from haul.store.database import Database
from haul.store.models import ClientConfig, Download, utcnow

_PUBLIC = tuple(f.name for f in dataclasses.fields(ClientSpec) if f.name != "secret")


@dataclass(frozen=True, slots=True)
class ClientView:
    """A configured client as the API shows it: everything but the secret."""

    spec: ClientSpec
    ok: bool | None = None  # None: not asked lately
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {name: getattr(self.spec, name) for name in _PUBLIC}
        data["url"] = shown_url(self.spec.url)
        data["has_secret"] = bool(self.spec.secret)
        data["ok"] = self.ok
        data["error"] = self.error
        return data


class ClientService:
    def __init__(
        self,
        db: Database,
        directory: ClientDirectory,
        *,
        reload: Callable[[], Awaitable[None]],
        build: Callable[[ClientSpec], Any] = build_client,
    ) -> None:
        self.db = db
        self.directory = directory
        self.reload = reload
        self.build = build

    def view(self, spec: ClientSpec) -> ClientView:
        reason = self.directory.unreachable(spec.name)
        return ClientView(spec, ok=None if reason is None else False, error=reason)

    async def configured(self) -> list[ClientView]:
        async with self.db.read() as s:
            return [self.view(spec) for spec in await cq.specs(s)]

    async def get(self, name: str) -> ClientView:
        return self.view(await self._spec(name))

    async def _spec(self, name: str) -> ClientSpec:
        async with self.db.read() as s:
            row = await cq.by_name(s, name)
        if row is None:
            raise NotFound(f"There is no download client named {name!r}.")
        return cq.to_spec(row)

    async def create(self, spec: ClientSpec) -> ClientView:
        check_spec(spec)
        await _check_address(spec)
        async with self.db.write() as s:
            if await cq.by_name(s, spec.name) is not None:
                raise Conflict(f"A download client named {spec.name!r} already exists.")
            s.add(ClientConfig(**dataclasses.asdict(spec)))
        await self.reload()
        return self.view(spec)

    async def update(self, name: str, changes: dict[str, Any]) -> ClientView:
        """Change some settings; a secret of None keeps the stored one, "" clears it."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(ClientSpec)}
        if unknown:
            raise InputError(f"Unknown client settings: {', '.join(sorted(unknown))}.")
        if "secret" in changes and changes["secret"] is None:
            del changes["secret"]
        if changes.get("name", name) != name:
            raise InputError("A client cannot be renamed; add a new one and remove this one.")
        if "kind" in changes:
            current = await self._spec(name)
            if changes["kind"] != current.kind:
                raise InputError("A client's kind cannot change; add a new client instead.")
        async with self.db.write() as s:
            row = await cq.by_name(s, name)
            if row is None:
                raise NotFound(f"There is no download client named {name!r}.")
            spec = dataclasses.replace(cq.to_spec(row), **changes)
            check_spec(spec, new_url="url" in changes)
            if "url" in changes:
                await _check_address(spec)
            for key, value in changes.items():
                setattr(row, key, value)
            row.updated_at = utcnow()
        await self.reload()
        return self.view(spec)

    async def delete(self, name: str) -> None:
        async with self.db.write() as s:
            row = await cq.by_name(s, name)
            if row is None:
                raise NotFound(f"There is no download client named {name!r}.")
            held = await cq.open_downloads(s, name)
            if held:
                raise Conflict(
                    f"{name} still has {held} unfinished download{'s' if held > 1 else ''}; "
                    "cancel them first, or disable the client instead of removing it."
                )
            await s.delete(row)
        await self.reload()

    async def test(self, spec: ClientSpec) -> ClientHealth:
        """Connect with these settings and say exactly what is wrong, if anything."""
        check_spec(spec)
        await _check_address(spec)
        client = self.build(spec)
        try:
            return await asyncio.wait_for(client.health(), spec.timeout + 1)
        except TimeoutError:
            return ClientHealth(
                False,
                f"{spec.name} did not answer within {spec.timeout:g} s.",
                code="client_unavailable",
            )
        except ClientError as exc:
            return ClientHealth.failed(exc)
        finally:
            await close_client(client)

    async def test_named(
        self, name: str, secret: str | None = None, *, changes: dict[str, Any] | None = None
    ) -> ClientHealth:
        """Connect to a configured client, optionally with a new secret or other settings
        (``changes``, as :meth:`update` takes them) that are not saved."""
        spec = await self._spec(name)
        if changes:
            spec = dataclasses.replace(spec, **{k: v for k, v in changes.items() if k != "name"})
        if secret is not None:
            spec = dataclasses.replace(spec, secret=secret)
        health = await self.test(spec)
        if health.ok and not changes:
            self.directory.succeeded(name)
        return health

    async def live_health(self, cap: float = 3.0) -> dict[str, ClientHealth]:
        """How each enabled client (the built-in engine too) is right now: all asked at once
        through the adapters in use, each within its own timeout (at most ``cap`` seconds).
        Disabled clients are not asked. A client that answers is marked reachable again."""
        async with self.db.read() as s:
            specs = [spec for spec in await cq.specs(s) if spec.enabled]
        names = [BUILTIN, *(spec.name for spec in specs)]
        timeouts = {spec.name: min(spec.timeout, cap) for spec in specs}

        async def ask(name: str) -> ClientHealth:
            client = self.directory.clients.get(name)
            if client is None:
                return ClientHealth(
                    False, f"haul could not set up {name}: check its settings.", code="client_error"
                )
            wait = timeouts.get(name, cap)
            try:
                health = await asyncio.wait_for(client.health(), wait)
            except TimeoutError:
                return ClientHealth(
                    False, f"{name} did not answer within {wait:g} s.", code="client_unavailable"
                )
            except ClientError as exc:
                return ClientHealth.failed(exc)
            if health.ok:
                self.directory.succeeded(name)
            return health

        answers = await asyncio.gather(*(ask(name) for name in names))
        return dict(zip(names, answers, strict=True))

    # -- untracked items -----------------------------------------------------------------

    async def untracked(self, name: str) -> list[ClientItem]:
        """Items the client holds under haul's category that no download of haul's knows."""
        if name == BUILTIN:
            return []
        await self._spec(name)
        items = await self.directory.call(name, lambda client: client.items(None))
        async with self.db.read() as s:
            known = await cq.known_refs(s, name)
        return [item for ref, item in sorted(items.items()) if ref not in known]

    async def adopt(self, name: str, ref: str, owner: Owner) -> int:
        """Make an untracked item a download of ``owner``'s; returns the new download's id."""
        found = {item.ref: item for item in await self.untracked(name)}
        item = found.get(ref)
        if item is None:
            raise NotFound(f"{name} has no untracked item {ref!r}.")
        source_url = _source_of(item)
        source = parse_source(source_url)
        now = utcnow()
        async with self.db.write() as s:
            row = Download(
                owner_key=owner.key,
                user_id=owner.user_id,
                source_url=source.url,
                site=site_of(source.url),
                dedupe_key=source.dedupe_key,
                title=item.name,
                client=name,
                client_ref=ref,
                requested_client=name,
                phase=Phase.ACTIVE.value,
                admitted_at=now,
                started_at=now,
                meta={"adopted": True},
            )
            s.add(row)
            await s.flush()
            q.add_event(s, row.id, "adopted", f"adopted from {name}", client=name, ref=ref)
            return int(row.id)


def _source_of(item: ClientItem) -> str:
    """A source URL haul can re-add the item from (a retry re-adds it)."""
    if len(item.ref) == 40:
        with contextlib.suppress(ValueError, InvalidTorrent):
            bytes.fromhex(item.ref)
            name = f"&dn={quote(item.name)}" if item.name else ""
            url = f"magnet:?xt=urn:btih:{item.ref}{name}"
            magnet_info_hash(url)
            return url
    for key in ("uri", "url"):
        value = item.raw.get(key)
        if isinstance(value, str) and value:
            return value
    for entry in item.raw.get("files") or []:
        for uri in entry.get("uris") or [] if isinstance(entry, dict) else []:
            if isinstance(uri, dict) and uri.get("uri"):
                return str(uri["uri"])
    raise InputError(f"haul cannot tell where {item.ref} came from, so it cannot adopt it.")


async def _check_address(spec: ClientSpec) -> None:
    """Refuse a client whose host name leads to a link-local or metadata address (what the
    URL literally names was checked with the other settings)."""
    parts = urlsplit(spec.url)
    host = parts.hostname or ""
    refusal = await asyncio.to_thread(guard.judge_host, guard.CLIENT_POLICY, host, parts.port)
    if refusal is not None:
        raise ForbiddenAddress(address_problem(host, refusal))
