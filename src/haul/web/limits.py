"""Request bodies have a size limit: a request larger than it is refused with 413.

Two limits: one for every request (JSON, forms; ``HAUL_MAX_BODY_BYTES``, 1 MiB) and a larger
one where a .torrent file is uploaded (``HAUL_MAX_UPLOAD_BYTES``). A request that says its
size (``Content-Length``) and is too large is answered before any of it is read; one sent in
chunks is counted as it arrives and stopped at the limit, before the route sees all of it.

A plain ASGI middleware (not Starlette's ``BaseHTTPMiddleware``, which buffers responses and
would break the event stream): it only wraps ``receive``.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MIB = 1024 * 1024

#: Routes that take a .torrent file or a cookies.txt (multipart), with the larger limit.
UPLOAD_ROUTES = frozenset(
    {
        ("POST", "/api/v1/downloads/torrent"),
        ("POST", "/add"),
        ("POST", "/api/v1/cookies"),
        ("POST", "/cookies"),
    }
)


def shown_size(limit: int) -> str:
    """A limit as a person reads it: ``1 MB``, ``12 MB``, ``512 KB``, ``1000 bytes``."""
    if limit >= MIB and limit % MIB == 0:
        return f"{limit // MIB} MB"
    if limit >= 1024 and limit % 1024 == 0:
        return f"{limit // 1024} KB"
    return f"{limit} bytes"


def too_large_message(limit: int) -> str:
    return f"The request body is larger than {shown_size(limit)}, the most haul accepts here."


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a chunked body passes the limit: the app's handler of
    HTTP exceptions answers it (FastAPI lets HTTP exceptions through while reading a body)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_message(limit))


def declared_length(scope: Scope) -> int | None:
    """The request's ``Content-Length``, None when absent or unreadable."""
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_body: int, max_upload: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload

    def limit_for(self, scope: Scope) -> int:
        if (scope.get("method"), scope.get("path")) in UPLOAD_ROUTES:
            return max(self.max_upload, self.max_body)
        return self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = declared_length(scope)
        if declared is not None and declared > limit:
            await refuse(scope, send, limit)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:
                raise
            await refuse(scope, send, limit)


async def refuse(scope: Scope, send: Send, limit: int) -> None:
    """Answer 413: a page for a browser asking for one (the add form), JSON otherwise."""
    await answer(scope, send, 413, too_large_message(limit), "too_large", title="Too large")


async def answer(
    scope: Scope, send: Send, status: int, message: str, code: str, *, title: str
) -> None:
    """A refusal made before the app runs: an error page for a browser asking for a page,
    ``{"detail", "code"}`` otherwise (the shapes of :mod:`haul.web.errors`)."""
    if _wants_page(scope) and "app" in scope:
        from haul.web.ui.render import page  # templates load only when a page is drawn

        response = page(
            Request(scope), "error.html", status_code=status, message=message, title=title
        )
        await response(scope, _nothing, send)
        return
    body = json.dumps({"detail": message, "code": code}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _wants_page(scope: Scope) -> bool:
    accept = next((v for k, v in scope.get("headers", ()) if k == b"accept"), b"")
    return not str(scope.get("path", "")).startswith("/api/") and b"text/html" in accept


async def _nothing() -> Message:
    return {"type": "http.disconnect"}
