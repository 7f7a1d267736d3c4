"""Requests that come through a trusted reverse proxy (``HAUL_TRUSTED_PROXIES``).

A proxy in front of haul is the peer of every connection, so what haul knows of the person
behind it comes from headers the proxy adds. They are believed only when the connection comes
from one of the trusted proxies' addresses; from anyone else they are ignored, since anybody
can send them:

- ``X-Forwarded-For``: the client's address, for login and public mode limits, visitor
  sessions and the log. The nearest address in it that is not a trusted proxy is taken.
- ``X-Forwarded-Proto``: ``https`` when people use haul over TLS at the proxy, so cookies are
  ``Secure`` and the same-origin checks expect ``https://`` pages.
- ``X-Forwarded-Host``: the name people use, when the proxy sends another ``Host``; it then
  stands for ``Host`` everywhere (the known-hosts guard, the same-origin checks).
- ``HAUL_AUTH_HEADER`` (``Remote-User``): the person the proxy signed in (:mod:`haul.web.auth`).

The first two are uvicorn's :class:`~uvicorn.middleware.proxy_headers.ProxyHeadersMiddleware`,
given the same list, which also decides who is trusted. Without ``HAUL_TRUSTED_PROXIES``
``haul serve`` leaves uvicorn's own default in place (those two headers from loopback) and
none of this runs.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from haul.core.hosts import host_name

#: Set in the scope when the connection comes from a trusted proxy.
VIA_PROXY = "haul.via_proxy"


def via_trusted_proxy(scope: Scope) -> bool:
    """Whether this request came through one of the trusted proxies."""
    return bool(scope.get(VIA_PROXY))


def forwarded_host(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """The name in ``X-Forwarded-Host`` (the last one: the nearest proxy's word), None when
    absent or not a host name."""
    values = [value for key, value in headers if key == b"x-forwarded-host"]
    if not values:
        return None
    last = b",".join(values).decode("latin-1").rsplit(",", 1)[-1].strip()
    return last.encode("latin-1") if host_name(last) is not None else None


class TrustedProxies:
    def __init__(self, app: ASGIApp, *, proxies: list[str]) -> None:
        self.app = app
        # An empty list trusts nobody (uvicorn would read an empty string as one literal).
        self.forwarded = ProxyHeadersMiddleware(app, trusted_hosts=proxies)  # type: ignore[arg-type]
        self.proxies = self.forwarded.trusted_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        peer = scope.get("client")
        if peer is None or peer[0] not in self.proxies:
            await self.app(scope, receive, send)
            return
        scope[VIA_PROXY] = True
        headers: list[tuple[bytes, bytes]] = list(scope["headers"])
        host = forwarded_host(headers)
        if host is not None:
            scope["headers"] = [(k, v) for k, v in headers if k != b"host"] + [(b"host", host)]
        # In place, as uvicorn's middleware changes it: the access log shows the client.
        await self.forwarded(scope, receive, send)  # type: ignore[arg-type]
