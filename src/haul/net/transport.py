"""An httpx transport whose every connection is checked against an address policy.

:class:`GuardedBackend` is an httpcore network backend: it resolves the host name itself,
drops the addresses the policy forbids and connects to an allowed one by its address, so the
address checked is the address connected to (a name that answers differently the second time
it is asked cannot slip through). TLS still verifies and names the host itself: httpcore passes
the URL's host to ``start_tls``, not the address. Every hop of a redirect is a new connection,
checked the same way. When every address of a name is forbidden the backend raises
:class:`~haul.errors.AddressRefused`, which httpx lets through as it is.

:class:`GuardedTransport` is httpx's own transport with that backend. httpx takes no network
backend as an argument; the transport's connection pool is the one place to give it one.

Why not the audit hook of :mod:`haul.net.guard` here: on uvloop httpx connects inside libuv and
Python sees no ``socket.connect``. Requests httpx sends through a proxy of the environment
(``HTTP_PROXY``...) go through httpx's own proxy transports: the proxy connects, not haul.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterable

import anyio
import httpcore
import httpx

from haul.net.guard import AddressPolicy, Refusal, is_ip, refused

#: httpcore's socket option (``SOCKET_OPTION`` in its backends, not exported).
SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's anyio backend, connecting only to addresses ``policy`` allows."""

    def __init__(
        self, policy: AddressPolicy, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self.policy = policy
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        allowed: list[str] = []
        refusals: list[Refusal] = []
        literal = is_ip(host)
        for address in [host] if literal else await _lookup(host, port, timeout):
            refusal = self.policy.check(address, None if literal else host)
            if refusal is None:
                allowed.append(address)
            else:
                refusals.append(refusal)
        if not allowed:
            raise refused(refusals[0])
        options = list(socket_options) if socket_options is not None else None
        failure: Exception | None = None
        for address in allowed:  # in the resolver's order of preference
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return await self._inner.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport (HTTP/1.1, ``limits``, the default trusted CAs) over
    :class:`GuardedBackend`."""

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        limits: httpx.Limits | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        limits = limits or httpx.Limits()
        context = ssl_context or httpx.create_ssl_context()
        super().__init__(verify=context, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy),
        )


async def _lookup(host: str, port: int, timeout: float | None) -> list[str]:
    """The addresses of ``host``, in the resolver's order, each once; failures as httpcore's
    connection errors (a name that does not resolve stays told as such by the caller)."""
    try:
        with anyio.fail_after(timeout):
            found = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except TimeoutError as exc:
        raise httpcore.ConnectTimeout(f"Timed out looking up {host}") from exc
    except OSError as exc:
        raise httpcore.ConnectError(str(exc)) from exc
    return list(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in found))
