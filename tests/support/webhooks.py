"""A real webhook receiver on 127.0.0.1 that records what arrives and checks signatures.

    with WebhookReceiver(secret="s3cret") as hooks:
        hooks.fail_next(2, status=503)      # the next two requests get a 503
        hooks.answer_always(400)            # or: every request gets a 400
        ... point haul at hooks.url("/hook") ...
        await await_for(lambda: len(hooks.requests) >= 3)
        assert hooks.requests[-1].signature_ok

Each connection is closed after its response (HTTP/1.0), so :meth:`close` never waits on a
client's idle keep-alive connection. Tests wait on :attr:`requests` with a deadline
(``tests.support.wait``), never by sleeping.
"""

from __future__ import annotations

import http.server
import json
import threading
from dataclasses import dataclass
from typing import Any

from haul.notify.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    status: int  # what the receiver answered
    signature_ok: bool | None  # None: the receiver has no secret to check with

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class WebhookReceiver:
    def __init__(self, secret: str | None = None) -> None:
        self.secret = secret
        self._lock = threading.Lock()
        self._requests: list[Received] = []
        self._failures: list[tuple[int, dict[str, str]]] = []
        self._always: int | None = None
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver._handle(self)

            def do_GET(self) -> None:
                receiver._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = False
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="webhooks"
        )
        self._thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def requests(self) -> list[Received]:
        with self._lock:
            return list(self._requests)

    def fail_next(self, count: int, *, status: int = 503, retry_after: str | None = None) -> None:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        with self._lock:
            self._failures.extend([(status, headers)] * count)

    def answer_always(self, status: int | None) -> None:
        """Answer every request with ``status`` (None: back to normal)."""
        with self._lock:
            self._always = status

    def _handle(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in handler.headers.items()}
        signature_ok = None
        if self.secret is not None:
            signature_ok = verify(
                self.secret,
                headers.get(TIMESTAMP_HEADER.lower()),
                body,
                headers.get(SIGNATURE_HEADER.lower()),
            )
        with self._lock:
            extra: dict[str, str] = {}
            if self._always is not None:
                status = self._always
            elif self._failures:
                status, extra = self._failures.pop(0)
            else:
                status = 200
            self._requests.append(
                Received(handler.command, handler.path, headers, body, status, signature_ok)
            )
        reply = b'{"ok": true}' if status < 400 else b'{"error": "refused by the test"}'
        handler.send_response(status)
        for name, value in extra.items():
            handler.send_header(name, value)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(reply)))
        handler.end_headers()
        handler.wfile.write(reply)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()  # joins the handler threads
        self._thread.join(10)

    def __enter__(self) -> WebhookReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
