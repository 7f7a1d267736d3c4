"""Refuse changes a browser was made to send from another web site.

haul on loopback has no login: any page a person visits could make their browser post to
``http://127.0.0.1:8680/api/v1/downloads/1/cancel``. Browsers say where such a request comes
from (``Origin``, ``Sec-Fetch-Site``); a request that changes something and comes from
another site is refused before it reaches a route. Programs (the CLI, scripts) send neither
header and are not affected. The pages' forms carry a CSRF token as well (``web.ui.csrf``).
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from haul.web.proxies import via_trusted_proxy

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MESSAGE = "haul did not act on this request: a page of another web site made your browser send it."


def cross_site(method: str, headers: dict[str, str], scheme: str | None = None) -> bool:
    """Whether a request changes state (or opens a WebSocket, which reads the events) and a
    browser sent it on behalf of another site (``scheme``: the one haul's pages have, when
    known: see :func:`page_scheme`)."""
    if method in SAFE_METHODS:
        return False
    if headers.get("sec-fetch-site") == "cross-site":
        return True
    origin = headers.get("origin")
    if not origin or origin == "null":
        return origin == "null"
    return not same_origin(origin, headers.get("host", ""), scheme)


def same_origin(origin: str, host: str, scheme: str | None) -> bool:
    """Whether a browser's ``Origin`` is haul's own: its host, and its scheme when known."""
    parts = urlsplit(origin)
    return parts.netloc == host and (scheme is None or parts.scheme == scheme)


def page_scheme(scope: Scope) -> str | None:
    """The scheme of haul's pages when a trusted proxy said it (``X-Forwarded-Proto``), so a
    page of ``http://`` cannot act on a haul people use over ``https://``; None otherwise
    (the scheme of the connection says nothing of a proxy in front that did not say)."""
    if not via_trusted_proxy(scope):
        return None
    if not any(key == b"x-forwarded-proto" for key, _ in scope["headers"]):
        return None
    scheme = str(scope["scheme"])
    return {"ws": "http", "wss": "https"}.get(scheme, scheme)


class SameOriginOnly:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            if cross_site("WEBSOCKET", headers, page_scheme(scope)):
                await receive()  # websocket.connect
                await send({"type": "websocket.close", "code": 1008, "reason": "cross-site"})
                return
        elif scope["type"] == "http":
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            if cross_site(scope["method"], headers, page_scheme(scope)):
                body = json.dumps({"detail": MESSAGE, "code": "cross_site"}).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 403,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
