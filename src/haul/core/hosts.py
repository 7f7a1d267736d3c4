"""The names haul answers to: a defence against DNS rebinding (pure).

A web page can make its own name resolve to 127.0.0.1 (or to a machine on the LAN) after it
has loaded; the browser then lets its script talk to haul as if haul were that page's own
site, and the cross-site guard (:mod:`haul.web.origin`) sees an ``Origin`` that matches the
``Host``. The one thing such a request cannot hide is the name it was sent to: ``Host`` is
the attacker's name. So every request (HTTP and WebSocket, ``/files/<token>`` included) is
refused before any route runs unless its ``Host`` is

- a loopback name: ``localhost``, ``127.0.0.1``, ``[::1]`` (any port);
- ``HAUL_HOST`` (``0.0.0.0`` and ``::`` too: browsers that open the address ``haul serve``
  prints send it; being an address, it cannot be rebound, but it stands for no other name);
- a name of ``HAUL_ALLOWED_HOSTS`` (comma-separated; ``*`` turns the check off);
- the IP address the connection arrived at (no name can be rebound to be an address), so a
  haul listening on ``0.0.0.0`` answers ``http://192.168.1.20:8680`` but not ``nas.local``
  until that name is allowed.

A request without ``Host`` (HTTP/1.0) is no browser's and passes. Ports are not compared:
the port is the listener's business.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_ADDRESSES = frozenset({"0.0.0.0", "::", "*"})
_SHOWN = 100  # characters of an unknown name repeated in the refusal


def host_name(value: str) -> str | None:
    """The name of a ``Host`` header or of an allowed-hosts entry, lower case, without port,
    brackets or a final dot; None when it is not a host name at all."""
    text = value.strip()
    if not text or any(c in text for c in "/?#@\\ \t"):
        return None
    try:
        return str(ipaddress.ip_address(text))  # a bare address (IPv6 without brackets too)
    except ValueError:
        pass
    try:
        parts = urlsplit(f"//{text}")
        parts.port  # noqa: B018 (raises ValueError for a port that is not one)
    except ValueError:
        return None
    name = (parts.hostname or "").rstrip(".")
    return name or None


def _address(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``name`` as an IP address (an IPv4 address an IPv6 socket saw as ``::ffff:a.b.c.d``
    unwrapped); None when it is a name."""
    try:
        found = ipaddress.ip_address(name)
    except ValueError:
        return None
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        return found.ipv4_mapped
    return found


@dataclass(frozen=True, slots=True)
class KnownHosts:
    """The names haul answers to (see the module's docstring); ``anything``: no check."""

    names: frozenset[str]
    anything: bool = False
    #: What haul listens on, for the refusal's advice (``0.0.0.0`` needs a name configured).
    listening_on: str = "127.0.0.1"

    @classmethod
    def of(cls, listen_host: str, allowed: str) -> KnownHosts:
        """From ``HAUL_HOST`` and ``HAUL_ALLOWED_HOSTS`` (already checked by the settings)."""
        entries = [e.strip() for e in allowed.split(",") if e.strip()]
        names = set(LOOPBACK_NAMES)
        if (own := host_name(listen_host)) and own != "*":
            names.add(own)  # 0.0.0.0 too: what `haul serve` prints, and no name to rebind
        names.update(n for e in entries if e != "*" and (n := host_name(e)))
        return cls(frozenset(names), anything="*" in entries, listening_on=listen_host)

    def allows(self, host: str | None, arrived_at: str | None = None) -> bool:
        """Whether a request with this ``Host`` header (None: none sent), which arrived at
        the local address ``arrived_at``, may be answered."""
        if self.anything or host is None:
            return True
        name = host_name(host)
        if name is None:
            return False
        if name in self.names:
            return True
        if arrived_at is None or (address := _address(name)) is None:
            return False
        return address == _address(arrived_at)

    def refusal(self, host: str) -> str:
        """One sentence telling the operator what to set."""
        shown = "".join(c if c.isprintable() else "?" for c in host)[:_SHOWN]
        name = host_name(host) or "NAME"
        if self.listening_on in WILDCARD_ADDRESSES:
            return (
                f"haul listens on {self.listening_on} but answers only to the names and "
                f"addresses it is told, and not to {shown!r}: set HAUL_ALLOWED_HOSTS={name} "
                "(comma-separated, with every name people use to reach haul) and restart it."
            )
        return (
            f"haul does not answer to the name {shown!r} (a guard against DNS rebinding): if "
            f"people reach haul by that name, set HAUL_ALLOWED_HOSTS={name} (comma-separated) "
            "and restart it."
        )
