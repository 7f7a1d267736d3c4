"""The clients one haul process talks to, and how reachable each has been lately.

The directory holds the built-in engine and one adapter per configured client, rebuilt only
when a client's connection settings change. Every bulk call to a client goes through
:meth:`ClientDirectory.call`: with the client's own timeout, and with backoff once it fails
(1 s, 2 s, 4 s ... up to 30 s), so a dead client answers "unreachable" at once instead of
slowing every page, and is asked again soon enough to notice when it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass
from typing import TypeVar

from haul.clients.base import Closable, DownloadClient
from haul.clients.registry import build_client, roster
from haul.core.client_items import ClientItem
from haul.core.client_specs import ClientSpec
from haul.core.routing import BUILTIN, Roster
from haul.errors import (
    ClientAuthFailed,
    ClientError,
    ClientUnavailable,
    ClientVersionUnsupported,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
BUILTIN_TIMEOUT = 5.0
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
#: Up to this many ids a bulk call names them; past it, it asks for all of haul's items.
NARROW_AT_MOST = 50


@dataclass
class Reachability:
    failures: int = 0
    retry_at: float = 0.0
    error: str | None = None
    since: float | None = None  # monotonic time of the first failure in a row


class ClientDirectory:
    def __init__(
        self,
        builtin: DownloadClient,
        *,
        build: Callable[[ClientSpec], DownloadClient] = build_client,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.builtin = builtin
        self.build = build
        self.clock = clock
        #: name -> client, the built-in engine included; updated in place on refresh.
        self.clients: dict[str, DownloadClient] = {BUILTIN: builtin}
        self.specs: dict[str, ClientSpec] = {}
        self.reach: dict[str, Reachability] = {}

    # -- configuration --------------------------------------------------------------------

    async def apply(self, specs: Iterable[ClientSpec]) -> None:
        """Make the configured clients these (adapters kept where the connection is unchanged)."""
        wanted = {spec.name: spec for spec in specs}
        retired: list[DownloadClient] = []
        for name in list(self.specs):
            old = self.specs[name]
            new = wanted.get(name)
            if new is None or new.connection != old.connection:
                del self.specs[name]
                self.reach.pop(name, None)
                client = self.clients.pop(name, None)
                if client is not None:
                    retired.append(client)
        for name, spec in wanted.items():
            if name not in self.clients:
                try:
                    self.clients[name] = self.build(spec)
                except Exception:
                    log.exception("cannot build client %s (%s)", name, spec.kind)
                    continue
            self.specs[name] = spec
        for client in retired:
            await close_client(client)

    def candidates(self) -> Roster:
        return roster(self.specs.values())

    def spec(self, name: str) -> ClientSpec | None:
        return self.specs.get(name)

    def timeout(self, name: str) -> float:
        spec = self.specs.get(name)
        return spec.timeout if spec is not None else BUILTIN_TIMEOUT

    async def aclose(self) -> None:
        for name in list(self.specs):
            client = self.clients.pop(name, None)
            if client is not None:
                await close_client(client)
        self.specs.clear()

    # -- calls ----------------------------------------------------------------------------

    def unreachable(self, name: str) -> str | None:
        """Why ``name`` is not asked right now (it failed recently), or None."""
        state = self.reach.get(name)
        if state is None or state.error is None:
            return None
        wait = state.retry_at - self.clock()
        if wait <= 0:
            return None
        return f"{state.error} (asked again in {max(1, round(wait))} s)"

    async def call(self, name: str, what: Callable[[DownloadClient], Awaitable[T]]) -> T:
        """Run one call on a client under its timeout and backoff; raises :class:`ClientError`."""
        client = self.clients.get(name)
        if client is None:
            raise ClientUnavailable(f"The download client {name!r} is not configured.")
        if name == BUILTIN:
            return await what(client)  # in memory: no timeout task per call (a hot path)
        if reason := self.unreachable(name):
            raise ClientUnavailable(reason)
        timeout = self.timeout(name)
        try:
            result = await asyncio.wait_for(what(client), timeout)
        except TimeoutError:
            self.failed(name, f"{name} did not answer within {timeout:g} s")
            raise ClientUnavailable(f"{name} did not answer within {timeout:g} s") from None
        except (ClientUnavailable, ClientAuthFailed, ClientVersionUnsupported) as exc:
            self.failed(name, exc.message)
            raise
        self.succeeded(name)
        return result

    async def items(self, name: str, refs: Collection[str]) -> dict[str, ClientItem]:
        """One bulk call for ``refs`` on a client. Past a few dozen ids the client is asked for
        all of haul's items (its category) and the answer narrowed here: one short request
        instead of a query string of hundreds of hashes, the same call its own UI makes.
        Ids that listing lacks are asked for by name (up to a few dozen): an item haul recorded
        is haul's even when it lost its category or label in a crash of the client."""
        wanted = list(refs)
        if len(wanted) <= NARROW_AT_MOST:
            return await self.call(name, lambda client: client.items(wanted))
        everything = await self.call(name, lambda client: client.items(None))
        found = {ref: everything[ref] for ref in wanted if ref in everything}
        absent = [ref for ref in wanted if ref not in found][:NARROW_AT_MOST]
        if absent:
            found.update(await self.call(name, lambda client: client.items(absent)))
        return found

    def failed(self, name: str, error: str) -> None:
        state = self.reach.setdefault(name, Reachability())
        state.failures += 1
        state.error = error
        now = self.clock()
        if state.since is None:
            state.since = now
            log.warning("client %s is unreachable: %s", name, error)
        delay = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (state.failures - 1))
        state.retry_at = now + delay

    def succeeded(self, name: str) -> None:
        state = self.reach.pop(name, None)
        if state is not None and state.since is not None:
            log.info("client %s is reachable again", name)


async def close_client(client: DownloadClient) -> None:
    """Close an adapter that holds connections; errors on the way out are not news."""
    if not isinstance(client, Closable):
        return
    with contextlib.suppress(ClientError, OSError):
        await client.aclose()
