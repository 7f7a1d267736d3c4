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
