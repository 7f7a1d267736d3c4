"""The address policy, enforced on the address haul actually connects to.

What a submitted URL literally names is checked at submit (:func:`haul.core.sources.parse_source`).
That says nothing of where a host name resolves, where a redirect goes or what a page links
to; this module checks those, at the moment of the connection, for every connection haul makes
on behalf of a download or of a URL a person gave. Link-local addresses (169.254.169.254 among
them), cloud metadata services, unspecified and multicast addresses are always refused; private
and loopback ones unless the instance allows them (:class:`AddressPolicy`).

Two enforcement points, one rule (:meth:`AddressPolicy.check`, pure, over
:func:`~haul.core.sources.forbidden_kind`):

* Code run inside :func:`watch` has its connections checked by an audit hook on Python's
  ``socket.connect`` event, whose address is already resolved. The scope lives in a
  :class:`~contextvars.ContextVar`, so it follows the code into the tasks it starts and into
  ``asyncio.to_thread``: yt-dlp in its worker threads (its own networking stack, redirects
  included, no patching), the direct-HTTP engine's aiohttp session (it connects through
  ``loop.sock_connect``, on asyncio and on uvloop alike), Apprise in the notifier's threads.
  Thread pools that do not copy the context (``loop.run_in_executor``) must be handed a
  function that enters the scope itself. The hook raises :class:`RefusedConnection`, an
  ``OSError``: each library takes it as an address it cannot reach (it tries the next address
  of the name, or fails the way it fails for an unreachable host). When the guarded code then
  fails, :func:`watch` raises :class:`~haul.errors.AddressRefused` from that failure instead,
  worded for the URL (:func:`describe`), whatever the library wrapped the refusal in.
* The httpx client haul uses for such work (resolve probes, .torrent files, IPTV providers,
  webhooks) has a network backend of its own (:mod:`haul.net.transport`) that resolves, checks
  and connects to the checked address. The audit hook cannot cover httpx: on uvloop (what
  uvicorn runs when it is installed) httpx connects inside libuv, which raises no audit event.

The hook is installed once per process, at the first :func:`watch`; it sees every audit event
of the process (``id()``, ``open``, ``compile``...) and costs one string comparison for each,
about 0.15 µs, when the event is not a connection.

What this module cannot see: connections made by other processes (aria2, qBittorrent,
Transmission, ffmpeg if yt-dlp hands it a stream) and what a configured proxy fetches.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

from haul.core.sources import ForbiddenKind, forbidden_kind
from haul.errors import AddressRefused, TransferStopped

T = TypeVar("T")

#: How a refusal is worded, by what the address is.
WORDS: Final[dict[ForbiddenKind, str]] = {
    "link-local": "a link-local or cloud metadata address, which haul never fetches",
    "metadata": "a cloud metadata address, which haul never fetches",
    "unspecified": "an unspecified address, which haul never fetches",
    "multicast": "a multicast address, which haul never fetches",
    "private": "a private or loopback address, which this instance does not allow",
}

_INET: Final = frozenset({socket.AF_INET, socket.AF_INET6})


@dataclass(frozen=True, slots=True)
class Refusal:
    """A connection haul would not make: to ``address``, reached through the name ``host``
    when it is known."""

    address: str
    kind: ForbiddenKind
    host: str | None = None

    @property
    def words(self) -> str:
        """``169.254.169.254, a link-local or cloud metadata address, which ...``"""
        return f"{self.address}, {WORDS[self.kind]}"


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Which addresses haul connects to on behalf of downloads: never link-local, metadata,
    unspecified or multicast ones; private and loopback ones when ``allow_private``."""

    allow_private: bool

    def check(self, address: str, host: str | None = None) -> Refusal | None:
        """The refusal of a connection to the IP address ``address`` (looked up as ``host``),
        or None when it may be made. A value that is not an IP address is not judged here."""
        kind = forbidden_kind(address, allow_private=self.allow_private)
        return None if kind is None else Refusal(address, kind, host)


class RefusedConnection(PermissionError):
    """What the audit hook raises inside ``socket.connect``: a library sees an address it
    may not reach (EACCES) and handles it as such; :func:`watch` tells the real reason."""


@dataclass(slots=True)
class Scope:
    """One guarded piece of work: its policy and the connections it was refused (appended
    from any thread the work runs in)."""

    policy: AddressPolicy
    refusals: list[Refusal] = field(default_factory=list)

    def connecting(self, sock: Any, address: Any) -> None:
        """Called by the audit hook before ``sock`` connects to ``address``; raises
        :class:`RefusedConnection` when the policy forbids it."""
        if getattr(sock, "family", None) not in _INET or not isinstance(address, tuple):
            return  # Unix sockets, netlink...: not a network address
        refusal = self._judge(str(address[0]), address[1], sock.family)
        if refusal is not None:
            self.refusals.append(refusal)
            raise RefusedConnection(errno.EACCES, describe(refusal))

    def _judge(self, host: str, port: Any, family: int) -> Refusal | None:
        # ``connect`` resolves a name itself (most libraries resolve first and pass an
        # address): look it up the way connect will and refuse if any answer is forbidden.
        return judge_host(self.policy, host, port, family)


#: Where download clients may be: private and loopback addresses are where they usually live
#: (on the LAN, or on this machine), link-local and metadata ones never.
CLIENT_POLICY: Final = AddressPolicy(allow_private=True)


def judge_host(policy: AddressPolicy, host: str, port: Any, family: int = 0) -> Refusal | None:
    """The refusal of a connection to ``host`` (an IP address, or a name looked up now, any
    forbidden answer refusing it), or None. Blocking when ``host`` is a name."""
    if is_ip(host):
        return policy.check(host)
    try:
        found = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
    except OSError:
        return None  # the connection fails on its own
    for *_, sockaddr in found:
        refusal = policy.check(str(sockaddr[0]), host)
        if refusal is not None:
            return refusal
    return None


_scope: ContextVar[Scope | None] = ContextVar("haul_address_scope", default=None)
_installed = False
_install_lock = threading.Lock()


def _audit(event: str, args: tuple[Any, ...]) -> None:
    # Runs for every audit event of the process: leave at once unless it is a connection.
    if event == "socket.connect":
        scope = _scope.get()
        if scope is not None:
            scope.connecting(*args)


def install() -> None:
    """Add the audit hook to this process, once (a hook cannot be removed: it stays idle
    outside :func:`watch`)."""
    global _installed
    if _installed:
        return
    with _install_lock:
        if not _installed:
            sys.addaudithook(_audit)
            _installed = True


def active() -> AddressPolicy | None:
    """The policy the current code runs under, if any."""
    scope = _scope.get()
    return None if scope is None else scope.policy


@contextlib.contextmanager
def watch(
    policy: AddressPolicy | None, url: str | None = None, *, links: bool = False
) -> Iterator[Scope | None]:
    """Run the body with its connections checked against ``policy`` (None: unchecked).

    When the body fails after a connection was refused, :class:`~haul.errors.AddressRefused`
    is raised from that failure, worded for ``url`` (``links``: the work follows links of a
    page, not only redirects). A stop (:class:`~haul.errors.TransferStopped`) stays a stop.
    A body that ends without an error (another address of the name worked) ends as it is.
    """
    if policy is None:
        yield None
        return
    install()
    scope = Scope(policy)
    token = _scope.set(scope)
    try:
        yield scope
    except (TransferStopped, AddressRefused):
        raise
    except Exception as exc:
        if not scope.refusals:
            raise
        raise refused(scope.refusals[0], url, links=links) from exc
    finally:
        _scope.reset(token)


def call(policy: AddressPolicy | None, work: Callable[[], T], url: str | None = None) -> T:
    """``work()`` inside :func:`watch`: for thread pools that do not carry the context."""
    with watch(policy, url):
        return work()


def refused(refusal: Refusal, url: str | None = None, *, links: bool = False) -> AddressRefused:
    """The haul error for ``refusal``, worded for ``url`` (see :func:`describe`)."""
    return AddressRefused(
        describe(refusal, url, links=links), address=refusal.address, host=refusal.host
    )


def reworded(exc: AddressRefused, url: str, *, links: bool = False) -> AddressRefused:
    """``exc`` (raised where the URL was not known) said again for ``url``."""
    # The address was refused, so what it is follows from it alone: a private one is only
    # refused where private ones are not allowed.
    kind = forbidden_kind(exc.address, allow_private=False)
    if kind is None:
        return exc
    return refused(Refusal(exc.address, kind, exc.host), url, links=links)


def describe(refusal: Refusal, url: str | None = None, *, links: bool = False) -> str:
    """A sentence saying why haul did not connect, from where ``url`` pointed to where the
    connection would have gone: its host itself, its host name's address, a redirect (or, with
    ``links``, a link of the page)."""
    start = _host_of(url)
    hop = refusal.host
    if hop is not None and start is not None and hop != start:
        target = refusal.address if _same_ip(hop, refusal.address) else f"{hop} ({refusal.address})"
        return f"The server at {start} redirected to {target}, {WORDS[refusal.kind]}."
    if start is None:
        start = hop
    if start is None:
        return f"haul does not connect to {refusal.words}."
    if _same_ip(start, refusal.address):
        return f"{refusal.address} is {WORDS[refusal.kind]}."
    if hop is not None:
        return f"{start} resolves to {refusal.words}."
    if is_ip(start):
        if links:
            return f"The page at {start} led, by a redirect or a link, to {refusal.words}."
        return f"The server at {start} redirected to {refusal.words}."
    if links:
        return f"{start} resolves, redirects or links to {refusal.words}."
    return f"{start} resolves or redirects to {refusal.words}."


def _host_of(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return (urlsplit(url).hostname or "").rstrip(".").lower() or None
    except ValueError:
        return None


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _same_ip(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return False
