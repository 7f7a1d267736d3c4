"""Refuse, before any route runs, a request sent to a name haul does not know.

See :mod:`haul.core.hosts` for the names and why. HTTP gets a 400 whose one sentence tells the
operator what to set; a WebSocket handshake gets the same answer where the server can send one
(uvicorn can), else it is closed with 1008.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from haul.core.hosts import KnownHosts
from haul.web.limits import answer

CODE = "unknown_host"


def _host_header(scope: Scope) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == b"host":
            return bytes(value).decode("latin-1")
    return None


class KnownHostsOnly:
    def __init__(self, app: ASGIApp, *, hosts: KnownHosts) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = _host_header(scope)
        server = scope.get("server")
        arrived_at = str(server[0]) if server else None
        if self.hosts.allows(host, arrived_at):
            await self.app(scope, receive, send)
            return
        message = self.hosts.refusal(host or "")
        if scope["type"] == "http":
            await answer(scope, send, 400, message, CODE, title="Unknown host name")
            return
        await receive()  # websocket.connect
        if "websocket.http.response" in scope.get("extensions", {}):
            body = json.dumps({"detail": message, "code": CODE}).encode()
            headers = [(b"content-type", b"application/json")]
            await send({"type": "websocket.http.response.start", "status": 400, "headers": headers})
            await send({"type": "websocket.http.response.body", "body": body})
            return
        await send({"type": "websocket.close", "code": 1008, "reason": CODE})
