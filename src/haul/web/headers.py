"""Security headers on every response: what a browser may load, frame, sniff and refer.

- Pages (HTML) get a Content-Security-Policy that lets them load haul's own script, style,
  images and event stream and nothing else: no inline script or style, no plug-ins, no
  ``<base>``, forms post only to haul, and no other site may frame them.
- A file sent for download (``/api/v1/downloads/{id}/file``, ``/files/{token}``, anything
  sent as an attachment) gets a sandboxing policy: an HTML or SVG file someone downloaded
  cannot run script in haul's origin even when a browser shows it instead of saving it.
- Everything else (JSON, the event stream, static files) gets the strictest policy, which a
  browser applies only if one is opened on its own.
- Everywhere: no MIME sniffing, no framing, no Referer to other sites (a signed file link
  never leaks through one), a window of its own, and no camera, microphone or location.

The API's interactive documentation (``/api/v1/docs``) is FastAPI's Swagger page, which loads
its script and style from haul (:mod:`haul.web.docs`), starts it inline and styles inline: it
gets a policy allowing that, on that page only, and nothing from another site.

A plain ASGI middleware: it adds headers to ``http.response.start`` and leaves the body alone
(streaming responses stream). A header a route set itself is kept.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
FILE_POLICY = "default-src 'none'; sandbox; frame-ancestors 'none'"
OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'"
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
DOCS_PATHS = frozenset({"/api/v1/docs"})
#: Routes that send a downloaded file.
FILE_PATH = re.compile(r"^(/api/v1/downloads/[^/]+/file|/files/[^/]+)/?$")

COMMON: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
)


def policy_for(path: str, headers: dict[bytes, bytes]) -> str:
    """The Content-Security-Policy of a response to ``path`` with these (lower-case) headers."""
    if FILE_PATH.match(path) or headers.get(b"content-disposition", b"").startswith(b"attachment"):
        return FILE_POLICY
    if path in DOCS_PATHS:
        return DOCS_POLICY
    if headers.get(b"content-type", b"").startswith(b"text/html"):
        return PAGE_POLICY
    return OTHER_POLICY


def secured(path: str, raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``raw`` response headers with the security headers added where the route set none."""
    present = {key.lower(): value for key, value in raw}
    added = [(key, value) for key, value in COMMON if key not in present]
    if b"content-security-policy" not in present:
        policy = policy_for(path, present)
        added.append((b"content-security-policy", policy.encode()))
        if policy == FILE_POLICY and b"referrer-policy" not in present:
            added = [(k, b"no-referrer" if k == b"referrer-policy" else v) for k, v in added]
    return [*raw, *added]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": secured(path, list(message.get("headers", ())))}
            await send(message)

        await self.app(scope, receive, with_headers)
