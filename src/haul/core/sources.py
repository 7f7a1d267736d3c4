"""What a submitted source is, checked before anything is stored (pure: no network).

The address check made here is the cheap, literal one (scheme, host syntax, IP literals in
forbidden ranges). The check on the *resolved* address, redirects included, belongs to the
engine that connects.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, quote, urlsplit, urlunsplit

from haul.core.torrents import TorrentMeta, magnet_info_hash
from haul.errors import ForbiddenAddress, InvalidTorrent, InvalidURL

SourceKind = Literal["url", "magnet", "torrent", "iptv"]
MAX_URL_LENGTH = 8192

#: Addresses no download may ever use: link-local (incl. cloud metadata, 169.254.169.254),
#: other cloud metadata services and unspecified; multicast too (see :func:`forbidden_kind`).
LINK_LOCAL = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))
METADATA_ADDRESSES = (
    ipaddress.ip_network("100.100.100.200/32"),  # Alibaba Cloud metadata
    ipaddress.ip_network("fd00:ec2::254/128"),  # AWS metadata over IPv6
)
UNSPECIFIED = (ipaddress.ip_network("0.0.0.0/8"), ipaddress.ip_network("::/128"))
ALWAYS_FORBIDDEN = LINK_LOCAL + METADATA_ADDRESSES + UNSPECIFIED
#: Why an address is refused: always (the first four) or on instances without private ones.
ForbiddenKind = Literal["metadata", "link-local", "unspecified", "multicast", "private"]
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data"})


@dataclass(frozen=True, slots=True)
class Source:
    kind: SourceKind
    url: str  # normalised
    dedupe_key: str


def address_forbidden(address: str, *, allow_private: bool) -> str | None:
    """Why an IP address may not be used, or None when it may."""
    kind = forbidden_kind(address, allow_private=allow_private)
    if kind is None:
        return None
    if kind != "private":
        return f"{address} is a link-local, metadata or multicast address, which haul never fetches"
    return f"{address} is a private or loopback address, which this instance does not allow"


def forbidden_kind(address: str, *, allow_private: bool) -> ForbiddenKind | None:
    """What makes an IP address one haul may not connect to, or None when it may (and when
    ``address`` is not an IP address). IPv4-mapped IPv6 addresses count as their IPv4 one."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in net for net in METADATA_ADDRESSES):
        return "metadata"
    if any(ip in net for net in LINK_LOCAL):
        return "link-local"
    if any(ip in net for net in UNSPECIFIED):
        return "unspecified"
    if ip.is_multicast:
        return "multicast"
    if not allow_private and (ip.is_private or ip.is_loopback or ip.is_reserved):
        return "private"
    return None


def parse_source(raw: str, *, allow_private: bool = True) -> Source:
    """Check and normalise a submitted URL or magnet link, or raise :class:`InvalidURL`."""
    text = raw.strip()
    if not text:
        raise InvalidURL("The URL is empty.")
    if len(text) > MAX_URL_LENGTH:
        raise InvalidURL(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    if any(ord(ch) < 32 or ch == "\x7f" for ch in text):
        raise InvalidURL("The URL contains control characters.")
    if text.lower().startswith("magnet:"):
        return _magnet(text)
    try:
        parts = urlsplit(text)
    except ValueError as exc:  # a bracket that opens an IPv6 host and never closes, say
        raise InvalidURL(f"The URL's host is not valid: {exc}.") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = f"'{scheme}:'" if scheme else "no scheme"
        raise InvalidURL(f"haul downloads http, https and magnet links; this URL has {shown}.")
    try:
        host = (parts.hostname or "").rstrip(".").lower()
        port = parts.port
    except ValueError as exc:
        raise InvalidURL(f"The URL's host or port is not valid: {exc}.") from exc
    if not host:
        raise InvalidURL("The URL has no host name.")
    if host in METADATA_HOSTS:
        raise ForbiddenAddress(f"{host} is a cloud metadata service, which haul never fetches.")
    reason = address_forbidden(host, allow_private=allow_private)
    if reason:
        raise ForbiddenAddress(reason[0].upper() + reason[1:] + ".")
    netloc = host if ":" not in host else f"[{host}]"
    default_port = {"http": 80, "https": 443}[scheme]
    if port is not None and port != default_port:
        netloc = f"{netloc}:{port}"
    if parts.username or parts.password:
        userinfo = parts.netloc.rsplit("@", 1)[0]
        netloc = f"{userinfo}@{netloc}"
    url = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
    return Source("url", url, _digest(url))


def _magnet(text: str) -> Source:
    query = parse_qs(urlsplit(text).query)
    topics = [xt for xt in query.get("xt", []) if xt.lower().startswith("urn:btih:")]
    if not topics:
        raise InvalidURL("The magnet link has no BitTorrent info-hash (xt=urn:btih:...).")
    try:
        info_hash = magnet_info_hash(text)
    except InvalidTorrent:
        raise InvalidURL(
            "The magnet link's info-hash is neither 40 hex nor 32 base32 characters."
        ) from None
    return Source("magnet", text, _digest(f"btih:{info_hash}"))


def torrent_source(meta: TorrentMeta) -> Source:
    """The source of an uploaded .torrent: shown as its magnet link, deduplicated by hash
    (the same torrent as a magnet link is the same download)."""
    url = f"{meta.magnet}&dn={quote(meta.name)}"
    return Source("torrent", url, _digest(f"btih:{meta.info_hash}"))


def iptv_source(
    provider_id: int, kind: Literal["movie", "episode"], ref: str, *, series_id: int | None = None
) -> Source:
    """The source of an IPTV film or episode: ``iptv://PROVIDER/movie/STREAM`` or
    ``iptv://PROVIDER/episode/EPISODE?series=SERIES``. It names what to ask the provider for,
    never where the bytes are (that URL carries the credentials and is asked for at each
    attempt)."""
    url = f"iptv://{provider_id}/{kind}/{quote(ref, safe='')}"
    if series_id is not None:
        url += f"?series={series_id}"
    return Source("iptv", url, _digest(f"iptv:{provider_id}:{kind}:{ref}"))


def iptv_series_of(url: str) -> int | None:
    """The series id an episode's ``iptv://`` source names, if any."""
    values = parse_qs(urlsplit(url).query).get("series") or []
    return int(values[0]) if values and values[0].isdigit() else None


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def domain_of(url: str) -> str:
    """Where a source comes from, as the operator's logs count it: the host of a URL,
    ``magnet`` for torrents (a magnet link or an uploaded .torrent), ``iptv:N`` for provider
    N's films and episodes."""
    if url.startswith("magnet:"):
        return "magnet"
    try:
        parts = urlsplit(url)
        if parts.scheme == "iptv":
            return f"iptv:{parts.netloc}"
        return (parts.hostname or "").lower()
    except ValueError:
        return ""


def check_site(source: Source, sites: tuple[str, ...]) -> None:
    """Refuse a source outside ``sites`` (host names; their subdomains count as theirs)."""
    if not sites:
        return
    host = (urlsplit(source.url).hostname or "").lower() if source.kind == "url" else ""
    if host and any(host == site or host.endswith("." + site) for site in sites):
        return
    what = "that source" if source.kind != "url" else host
    raise ForbiddenAddress(
        f"Visitors of this instance may download from {', '.join(sites)} only; not from {what}."
    )
