"""haul under a path of its own (``HAUL_BASE_PATH=/haul``), behind a reverse proxy that
passes the path on as it is (``https://example.com/haul/...`` reaches haul as ``/haul/...``).

Inside, haul's routes, checks and redirects keep speaking of ``/downloads``; at the edge:

- a request under the base path goes on with the base taken off its path, and the base kept
  in the scope (:func:`base_of`) for the pages, which put it before every link, form action,
  script and picture they name, and for the script, which reads it from the page;
- the answer's ``Location`` (haul's redirects, and Starlette's own for a trailing slash) and
  its cookies' ``Path`` are put under the base;
- anything else gets 404 saying where haul is, except ``/`` (sent on to the base) and
  ``/healthz``, which a health check of the machine haul runs on (a container's) asks at the
  root whatever the base.

With no base path (the default) none of this runs.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit, urlunsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from haul.web.headers import secured

#: Where the base path is kept in the scope of a request under it.
BASE = "haul.base_path"
#: Asked at the root too, whatever the base path.
ROOT_PATHS = frozenset({"/healthz"})
_COOKIE_PATH = re.compile(rb"(;\s*path=)/(?=;|$)", re.IGNORECASE)


def base_of(scope: Scope) -> str:
    """The base path haul is served under, ``""`` at the root."""
    return str(scope.get(BASE, ""))


def moved_location(value: str, base: str, host: str | None) -> str:
    """A redirect's target put under the base: a path of haul's, or a URL of this host."""
    if value.startswith("/") and not value.startswith("//"):
        return base + value
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and host is not None and parts.netloc == host:
        return urlunsplit(parts._replace(path=base + (parts.path or "/")))
    return value


class BasePath:
    def __init__(self, app: ASGIApp, *, base: str) -> None:
        self.app = app
        self.base = base

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        base = self.base
        path: str = scope["path"]
        if path == base or path.startswith(base + "/"):
            rest = path[len(base) :] or "/"
            raw: bytes = scope.get("raw_path") or b""
            prefix = base.encode()
            raw = raw[len(prefix) :] if raw.startswith(prefix + b"/") else rest.encode()
            inner = {**scope, "path": rest, "raw_path": raw, BASE: base}
            await self.app(inner, receive, self._moving(scope, send))
        elif path in ROOT_PATHS:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008, "reason": "not found"})
        elif path == "/" and scope["method"] in ("GET", "HEAD"):
            await _answer(send, 307, b"", [(b"location", f"{base}/".encode())])
        else:
            body = json.dumps(
                {"detail": f"haul is at {base}/ on this server.", "code": "not_found"}
            ).encode()
            await _answer(send, 404, body, [(b"content-type", b"application/json")])

    def _moving(self, scope: Scope, send: Send) -> Send:
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), None)
        base = self.base
        cookie_path = rb"\g<1>" + base.encode()

        async def moved(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[tuple[bytes, bytes]] = []
                for key, value in message.get("headers", ()):
                    if key.lower() == b"location":
                        text = moved_location(value.decode("latin-1"), base, host)
                        value = text.encode("latin-1")
                    elif key.lower() == b"set-cookie":
                        value = _COOKIE_PATH.sub(cookie_path, value)
                    headers.append((key, value))
                message = {**message, "headers": headers}
            await send(message)

        return moved


async def _answer(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": secured("/", headers)})
    await send({"type": "http.response.body", "body": body})
