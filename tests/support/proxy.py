"""A tiny forwarding HTTP proxy on 127.0.0.1 for tests: it answers ``GET http://...`` by
fetching the URL itself (no proxy of its own) and records what it was asked, with the
``Proxy-Authorization`` header each request carried. Plain HTTP only (no CONNECT)."""

from __future__ import annotations

import http.server
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Seen:
    url: str
    authorization: str | None


class ForwardingProxy:
    def __init__(self, login: str | None = None) -> None:
        """``login``: the ``Proxy-Authorization`` it wants (any other request gets 407)."""
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                with owner._lock:
                    owner.seen.append(Seen(self.path, self.headers.get("Proxy-Authorization")))
                if login is not None and self.headers.get("Proxy-Authorization") != login:
                    self.send_response(407)
                    self.send_header("Proxy-Authenticate", 'Basic realm="proxy"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("proxy-authorization", "proxy-connection", "host")
                }
                opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
                request = urllib.request.Request(self.path, headers=headers)  # noqa: S310
                try:
                    answer = opener.open(request, timeout=30)
                except urllib.error.HTTPError as exc:
                    answer = exc
                with answer:
                    body = answer.read()
                    self.send_response(answer.status)
                    for key, value in answer.headers.items():
                        if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, credentials: str | None = None) -> str:
        auth = f"{credentials}@" if credentials else ""
        return f"http://{auth}127.0.0.1:{self.port}"

    def urls(self) -> list[str]:
        with self._lock:
            return [s.url for s in self.seen]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> ForwardingProxy:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
