"""Text holding a NUL character is refused (422) before any route sees it.

No name, title, URL or search haul keeps has a use for NUL, and PostgreSQL cannot store one
in a text or JSON column: let through, it would fail deep in a write (HTTP 500) on
PostgreSQL and be stored on SQLite. Looked at: the path, the query string, a JSON body (any
string, keys included; every JSON media type FastAPI reads as JSON: ``application/json`` and
``application/<anything>+json`` such as ``application/merge-patch+json``) and a URL-encoded
form. A multipart body (the .torrent upload, whose
bytes are binary) is left to its routes, which check its few text fields themselves.

A plain ASGI middleware: a JSON or form body is read whole (it is small: see
:mod:`haul.web.limits`, which runs first) and handed on unchanged.
"""

from __future__ import annotations

import email.message
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from haul.errors import InvalidFields
from haul.web.limits import answer

MESSAGE = (
    "Text sent to haul cannot contain NUL characters (\\u0000) or lone UTF-16 surrogates "
    "(\\ud800-\\udfff); remove them and try again."
)
CODE = "nul_character"
_UNWRITABLE = re.compile("[\x00\ud800-\udfff]")
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


def refuse_nul_fields(fields: Mapping[str, str | None]) -> None:
    """Raise :class:`InvalidFields` naming each field of a multipart form whose text holds a
    NUL (the middleware leaves those bodies alone)."""
    bad = {
        name: f"{name} cannot contain NUL characters (\\u0000)."
        for name, value in fields.items()
        if value and "\x00" in value
    }
    if bad:
        raise InvalidFields(bad)


def holds_nul(value: Any) -> bool:
    """Whether a decoded JSON value holds a NUL, or half of a UTF-16 surrogate pair (which no
    text encoding can write), in any string, keys included."""
    if isinstance(value, str):
        return _UNWRITABLE.search(value) is not None
    if isinstance(value, dict):
        return any(holds_nul(k) or holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(holds_nul(v) for v in value)
    return False


def json_holds_nul(body: bytes) -> bool:
    """Whether a JSON body holds a NUL character in a string. One that names a NUL and cannot
    be read (broken, or nested too deep) is taken to hold it: it is refused either way."""
    if b"\\u0000" not in body and b"\x00" not in body and not _SURROGATE.search(body):
        return False  # the quick answer for nearly every request
    try:
        return holds_nul(json.loads(body))
    except (ValueError, RecursionError):
        return True


def form_holds_nul(body: bytes) -> bool:
    return b"\x00" in body or b"\x00" in unquote_to_bytes(body.replace(b"+", b" "))


def request_holds_nul(scope: Scope) -> bool:
    """Whether the path or the query string names a NUL (``%00``)."""
    if "\x00" in str(scope.get("path", "")):
        return True
    return b"\x00" in unquote_to_bytes(scope.get("query_string", b""))


class NoNulCharacters:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if request_holds_nul(scope):
            if scope["type"] == "websocket":
                await receive()
                await send({"type": "websocket.close", "code": 1008, "reason": "NUL"})
                return
            await answer(scope, send, 422, MESSAGE, CODE, title="Not valid")
            return
        kind = body_kind(_content_type(scope)) if scope["type"] == "http" else None
        if kind is None:
            await self.app(scope, receive, send)
            return
        body, rest = await _read_body(receive)
        check = json_holds_nul if kind == "json" else form_holds_nul
        if check(body):
            await answer(scope, send, 422, MESSAGE, CODE, title="Not valid")
            return
        await self.app(scope, _replay(body, rest, receive), send)


def body_kind(content_type: str) -> str | None:
    """``"json"`` or ``"form"`` for a body the routes read as such, else ``None``.

    Read as FastAPI reads it: every ``application/json`` and ``application/*+json`` body is
    JSON (parameters, case and spaces aside).
    """
    if not content_type:
        return None
    message = email.message.Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return None
    subtype = message.get_content_subtype()
    if subtype == "json" or subtype.endswith("+json"):
        return "json"
    if subtype == "x-www-form-urlencoded":
        return "form"
    return None


def _content_type(scope: Scope) -> str:
    for key, value in scope.get("headers", ()):
        if key == b"content-type":
            return bytes(value).decode("latin-1")
    return ""


async def _read_body(receive: Receive) -> tuple[bytes, Message | None]:
    """The whole body, and the message that ended it early (a disconnect), if one did."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), message
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), None


def _replay(body: bytes, rest: Message | None, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            if rest is not None:
                return rest
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
