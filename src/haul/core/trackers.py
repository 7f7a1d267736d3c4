"""The addresses a torrent makes its client contact, checked against the address policy (pure).

A magnet link names trackers (``tr``, also numbered ``tr.1``), web seeds (``ws``), a .torrent
to fetch (``xs``), a fallback source (``as``) and peers to dial (``x.pe``); a .torrent names
trackers (``announce``, ``announce-list``) and web seeds (``url-list``, ``httpseeds``). The
client fetches each of them itself, where haul's connection guard cannot see, so a torrent is
checked before it is handed over:

* at submit, literally: a URL whose scheme a client does not fetch, whose host is an IP address
  in a forbidden range or a cloud metadata name is refused with a 4xx
  naming it (:func:`refusal`);
* at hand-over, by resolving every host name (:func:`hosts`): a name that resolves to a
  forbidden address is refused then (a name cannot be checked without a lookup, and submit does
  no network work).

What stays open: the client looks a name up again itself, later and repeatedly; a name that
answers differently then (DNS rebinding) is not seen by haul. Instances that must rule that
out keep visitors away from torrents (``HAUL_PUBLIC_TORRENTS``) or run their torrent client
where it cannot reach private networks.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlsplit

from haul.core.sources import METADATA_HOSTS, forbidden_kind
from haul.errors import ForbiddenAddress, InputError

#: What each magnet parameter that names an address is, as said to a person.
MAGNET_KEYS = {"tr": "tracker", "ws": "web seed", "xs": "torrent source", "as": "source"}
#: Schemes torrent clients contact: trackers over http(s) and UDP (WebSocket ones in some).
SCHEMES = frozenset({"http", "https", "udp", "ws", "wss"})
#: Most distinct host names a torrent may name (each is looked up at hand-over).
MAX_HOSTS = 100
_PRIVATE = "a private or loopback address, which this instance does not allow"
_ALWAYS = "a link-local, metadata or multicast address, which haul never lets a client contact"


#: A magnet parameter as clients read it: ``tr``, or a numbered ``tr.1`` (the same, in a
#: form some clients accept).
_KEY = re.compile(r"(tr|ws|xs|as)(?:\.\d+)?")
#: The magnet parameter naming peers to dial (``host:port``, no scheme).
PEER_KEY = "x.pe"
PEER = "peer"


def magnet_addresses(url: str) -> list[tuple[str, str]]:
    """The (what, URL) pairs a magnet link makes a client contact, in the order of the link;
    an ``xs`` or ``as`` that is a URN (``urn:btpk:...``) names nothing to contact. A peer
    (``x.pe``) is given as ``peer://host:port``."""
    found: list[tuple[str, str]] = []
    for key, value in parse_qsl(urlsplit(url).query):
        named = _KEY.fullmatch(key.lower())
        if named is not None and not value.lower().startswith("urn:"):
            found.append((MAGNET_KEYS[named.group(1)], value))
        elif key.lower() == PEER_KEY:
            found.append((PEER, f"{PEER}://{value}"))
    return found


def host_of(url: str) -> str | None:
    try:
        return (urlsplit(url).hostname or "").rstrip(".").lower() or None
    except ValueError:
        return None


def refusal(what: str, url: str, *, allow_private: bool) -> str | None:
    """Why a client may not be made to contact ``url`` (checked literally), or None."""
    shown = url if len(url) <= 200 else url[:200] + "..."
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        scheme = ""
    if scheme not in SCHEMES and not (what == PEER and scheme == PEER):
        return f"The torrent's {what} {shown!r} is not an http, https or udp URL."
    if what == PEER:
        shown = shown.removeprefix(f"{PEER}://")
    host = host_of(url)
    if host is None:
        return f"The torrent's {what} {shown!r} has no valid host."
    if host in METADATA_HOSTS:
        return f"The torrent's {what} {shown} is a cloud metadata service, which haul refuses."
    kind = forbidden_kind(host, allow_private=allow_private)
    if kind is None:
        return None
    return f"The torrent's {what} {shown} is {_PRIVATE if kind == 'private' else _ALWAYS}."


def check(addresses: Iterable[tuple[str, str]], *, allow_private: bool) -> None:
    """Refuse (:class:`ForbiddenAddress`) the first address a client may not be made to
    contact, checked literally (see the module docstring), and a torrent naming more hosts
    than haul looks up at hand-over."""
    listed = list(addresses)
    for what, url in listed:
        reason = refusal(what, url, allow_private=allow_private)
        if reason is not None:
            raise ForbiddenAddress(reason)
    if len(hosts(listed)) > MAX_HOSTS:
        raise InputError(
            f"The torrent names trackers and web seeds on more than {MAX_HOSTS} host names; "
            "haul takes at most that many."
        )


def hosts(addresses: Iterable[tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """Each host name (not an IP address: those were judged literally) to look up, with the
    first (what, URL) naming it."""
    found: dict[str, tuple[str, str]] = {}
    for what, url in addresses:
        host = host_of(url)
        if host is None:
            continue
        try:
            ipaddress.ip_address(host)
        except ValueError:
            found.setdefault(host, (what, url))
    return found
