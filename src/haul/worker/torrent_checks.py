"""What a torrent must pass before it goes to a client: a .torrent fetched within its size
limit and parsed, and trackers and web seeds that are not, and do not resolve to, addresses
the policy forbids (the client contacts them itself, out of haul's sight: see
:mod:`haul.core.trackers`)."""

from __future__ import annotations

import asyncio
import socket

import httpx

from haul.core import trackers
from haul.core.torrents import MAX_TORRENT_BYTES, magnet_info_hash, parse_torrent
from haul.engine.http_errors import network_error, status_error
from haul.errors import AddressRefused, InputError, PermanentTransferError
from haul.net.guard import AddressPolicy, reworded


async def fetch_torrent(http: httpx.AsyncClient, url: str) -> bytes:
    """The .torrent at ``url``; raises TransferError (too large, not a torrent, unreachable)."""
    try:
        async with http.stream("GET", url) as response:
            if response.status_code >= 400:
                raise status_error(response)
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_TORRENT_BYTES:
                    raise PermanentTransferError(
                        f"The .torrent at {url} is larger than "
                        f"{MAX_TORRENT_BYTES // (1024 * 1024)} MB.",
                        code="invalid_torrent",
                    )
    except httpx.HTTPError as exc:
        raise network_error(exc, url) from exc
    except AddressRefused as exc:  # the HTTP client's transport checks where it connects
        raise reworded(exc, url) from exc
    try:
        parse_torrent(bytes(body))
    except InputError as exc:
        raise PermanentTransferError(exc.message, code=exc.code) from exc
    return bytes(body)


def info_hash(url: str, torrent: bytes | None) -> str | None:
    """The info-hash the torrent (or magnet link) will have on a client; None for a file or
    for a torrent too broken to tell (the client refuses it with its own words)."""
    try:
        if torrent is not None:
            return parse_torrent(torrent).info_hash
        if url.lower().startswith("magnet:"):
            return magnet_info_hash(url)
    except InputError:
        return None
    return None


async def check_addresses(
    policy: AddressPolicy | None, url: str, torrent: bytes | None, lookup_timeout: float
) -> None:
    """Refuse a torrent whose trackers or web seeds are, or resolve to, addresses ``policy``
    forbids (None: unchecked). A name that does not resolve is the client's problem."""
    if policy is None:
        return
    try:
        if torrent is not None:
            found = parse_torrent(torrent).addresses
        elif url.lower().startswith("magnet:"):
            found = tuple(trackers.magnet_addresses(url))
        else:
            return
        trackers.check(found, allow_private=policy.allow_private)
    except InputError as exc:
        raise PermanentTransferError(exc.message, code=exc.code) from exc
    names = trackers.hosts(found)
    looked_up = await asyncio.gather(*(_lookup(host, lookup_timeout) for host in names))
    for (host, (what, link)), addresses in zip(names.items(), looked_up, strict=True):
        for address in addresses:
            refusal = policy.check(address, host)
            if refusal is not None:
                raise PermanentTransferError(
                    f"The torrent's {what} {link} resolves to {refusal.words}.",
                    code="forbidden_address",
                )


async def _lookup(host: str, timeout: float) -> list[str]:
    """Every address ``host`` resolves to now (none when it does not resolve)."""
    loop = asyncio.get_running_loop()
    try:
        found = await asyncio.wait_for(
            loop.getaddrinfo(host, None, type=socket.SOCK_STREAM), timeout
        )
    except (OSError, TimeoutError):
        return []
    return [str(sockaddr[0]) for *_, sockaddr in found]
