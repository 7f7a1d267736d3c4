"""Listening to haul's Server-Sent Events stream in a thread, as a browser would."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx


class EventListener:
    """Collects ``progress`` and ``status`` events (each with ``kind`` and ``at``, a monotonic
    time) until a download's status event says ``completed``."""

    def __init__(self, server_url: str, timeout: float = 60) -> None:
        self.url = f"{server_url}/api/v1/events"
        self.timeout = timeout
        self.seen: list[dict[str, Any]] = []
        self.opened = threading.Event()
        self.completed = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)

    def start(self) -> EventListener:
        self._thread.start()
        assert self.opened.wait(10), "the event stream did not open"
        return self

    def _listen(self) -> None:
        with httpx.stream("GET", self.url, timeout=self.timeout) as response:
            kind = ""
            for line in response.iter_lines():
                if line.startswith("event:"):
                    kind = line[6:].strip()
                    if kind == "hello":
                        self.opened.set()
                elif line.startswith("data:") and kind in ("progress", "status"):
                    data = json.loads(line[5:])
                    self.seen.append({"kind": kind, "at": time.monotonic(), **data})
                    if kind == "status" and data["download"]["status"] == "completed":
                        self.completed.set()
                        return

    def progress(self, download_id: int) -> list[dict[str, Any]]:
        return [e for e in self.seen if e["kind"] == "progress" and e["id"] == download_id]


class LiveStream:
    """One live stream of a haul server read in a thread, as a browser or script would: the
    event stream (``kind="sse"``) or the WebSocket (``kind="ws"``), with the given headers
    (an API token, a login cookie). Keeps every event; ``ended`` is set when the server ends
    the stream, with ``closed`` (the SSE ``closed`` event's data) or ``close_code``."""

    def __init__(self, server_url: str, kind: str, headers: dict[str, str]) -> None:
        self.kind = kind
        self.url = f"{server_url}/api/v1/{'events' if kind == 'sse' else 'ws'}"
        self.headers = headers
        self.events: list[dict[str, Any]] = []
        self.closed: dict[str, Any] | None = None
        self.close_code: int | None = None
        self.opened = threading.Event()
        self.ended = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> LiveStream:
        self._thread.start()
        assert self.opened.wait(10), f"the {self.kind} stream did not open"
        return self

    def stop(self) -> None:
        """Stop reading (the thread ends with its next line or keep-alive, or the server)."""
        self._stop.set()

    def created(self, download_id: int) -> bool:
        return any(e.get("type") == "created" and e.get("id") == download_id for e in self.events)

    def _run(self) -> None:
        try:
            self._sse() if self.kind == "sse" else self._ws()
        except Exception:
            if not self._stop.is_set():
                raise
        finally:
            self.ended.set()

    def _sse(self) -> None:
        with httpx.stream("GET", self.url, headers=self.headers, timeout=60) as response:
            assert response.status_code == 200, response.status_code
            kind = ""
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith("event:"):
                    kind = line[6:].strip()
                    if kind == "hello":
                        self.opened.set()
                elif line.startswith("data:") and kind == "closed":
                    self.closed = json.loads(line[5:])
                elif line.startswith("data:") and kind not in ("hello", ""):
                    self.events.append(json.loads(line[5:]))

    def _ws(self) -> None:
        from websockets.exceptions import ConnectionClosed
        from websockets.sync.client import connect

        url = self.url.replace("http://", "ws://")
        with connect(url, additional_headers=self.headers, open_timeout=10) as ws:
            ws.send(json.dumps({"subscribe": []}))
            assert json.loads(ws.recv(10))["type"] == "subscribed"
            self.opened.set()
            while not self._stop.is_set():
                try:
                    message = ws.recv(timeout=0.5)
                except TimeoutError:
                    continue
                except ConnectionClosed as exc:
                    self.close_code = exc.rcvd.code if exc.rcvd is not None else None
                    self.closed = {"detail": exc.rcvd.reason if exc.rcvd is not None else ""}
                    return
                self.events.append(json.loads(message))
