"""What the benchmarks share: paths, verdicts, file helpers, RSS, SSE completion watching.

Every benchmark is a script run from the repository root (``./run bench NAME``); each puts the
repository root on ``sys.path`` so ``tests.support`` (the test origin and the real-server
harness) can be imported, prints its figures as ratios against a reference measured in the
same run, and exits non-zero when a target is missed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]


def header(name: str) -> None:
    """The first lines every benchmark prints: what, when, on which machine."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"== haul benchmark: {name}")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"   {now}; {os.cpu_count()} cores; Python {platform.python_version()}; load {load}")
    print(f"   code: {source_state()}")
    print(f"   haul runs on: {install_state()}")


def install_state() -> str:
    """Which install the servers run on: the user install ``./run bench`` makes, or this one."""
    python = os.environ.get("HAUL_SERVER_PYTHON")
    if not python:
        return "the development install (HAUL_SERVER_PYTHON unset)"
    extras = subprocess.run(
        [python, "-c", "import importlib.util as u; print(bool(u.find_spec('pytest')))"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    kind = "with dev packages" if extras == "True" else "no dev extras"
    return f"the user install {python} ({kind})"


def source_state() -> str:
    """The commit the benchmark runs on, and whether src/ differs from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], cwd=ROOT, capture_output=True, text=True
        ).stdout.splitlines()
    except OSError:
        return "unknown (no git)"
    return f"{head or 'unknown'}" + (
        f" + {len(changed)} uncommitted files in src/" if changed else ""
    )


@dataclass
class Verdicts:
    """PASS/FAIL lines; :meth:`exit_code` is non-zero when any target was missed."""

    results: list[tuple[str, bool]] = field(default_factory=list)

    def check(self, label: str, ok: bool) -> bool:
        self.results.append((label, ok))
        print(f"{'PASS' if ok else 'FAIL'}: {label}")
        return ok

    def exit_code(self) -> int:
        return 0 if all(ok for _, ok in self.results) else 1


def fill_file(path: Path, size: int, block: bytes, prefix: bytes = b"") -> None:
    """Write ``prefix`` then ``block`` repeated up to ``size`` bytes (fast, incompressible)."""
    with path.open("wb") as out:
        out.write(prefix[:size])
        left = size - min(size, len(prefix))
        while left > 0:
            piece = block[:left]
            out.write(piece)
            left -= len(piece)


def served_file(origin: Any, folder: Path, name: str, size: int) -> tuple[str, str]:
    """A file of ``size`` random-looking bytes made in ``folder`` and served by the test
    ``origin`` at ``/name`` (from disk); returns its URL and its sha256."""
    source = folder / name
    fill_file(source, size, os.urandom(1 << 20))
    origin.add_file(f"/{name}", source)
    return origin.url(f"/{name}"), sha256_file(source)


def sha256_file(path: Path, chunk: int = 4 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while data := handle.read(chunk):
            digest.update(data)
    return digest.hexdigest()


def rss_kib(pid: int, key: str = "VmRSS") -> int:
    """``VmRSS`` (or ``VmHWM``, the peak) of a process in KiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {key} for pid {pid}")


def children_rss_kib(pid: int) -> dict[int, int]:
    """The VmRSS in KiB of each living child process of ``pid`` (haul's probe child)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(") ", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found[int(stat.parent.name)] = rss_kib(int(stat.parent.name))
        except (OSError, IndexError, RuntimeError, ValueError):
            continue  # gone meanwhile
    return found


def drop_written(paths: Iterable[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


class CompletionWatcher:
    """Follows a haul server's SSE stream and notes when each download reaches a final state.

    Runs in a thread with its own HTTP connection, so waiting costs the server one open stream
    instead of repeated list requests. ``done`` maps download id to (status, monotonic time the
    event arrived).
    """

    FINAL = frozenset({"completed", "failed", "canceled"})

    def __init__(self, base_url: str) -> None:
        self.url = f"{base_url}/api/v1/events"
        self.done: dict[int, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="sse-watch", daemon=True)

    def __enter__(self) -> CompletionWatcher:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the SSE stream did not open")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            timeout = httpx.Timeout(5.0, read=2.0)
            with httpx.Client(timeout=timeout) as client:
                while not self._stop.is_set():
                    try:
                        self._follow(client)
                    except httpx.ReadTimeout:
                        continue  # keepalive pings come every 15 s; just reconnect
        except BaseException as exc:  # reported to the waiting thread
            self._error = exc
            self._ready.set()

    def _follow(self, client: httpx.Client) -> None:
        with client.stream("GET", self.url) as response:
            response.raise_for_status()
            event = ""
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith("event:"):
                    event = line[6:].strip()
                    if event == "hello":
                        self._ready.set()
                elif line.startswith("data:") and event == "status":
                    data = json.loads(line[5:])
                    download = data.get("download") or {}
                    status = download.get("status")
                    if status in self.FINAL:
                        with self._changed:
                            self.done.setdefault(int(data["id"]), (status, time.monotonic()))
                            self._changed.notify_all()

    def wait_for(self, ids: Iterable[int], timeout: float) -> dict[int, tuple[str, float]]:
        """Block until every id in ``ids`` is final (or raise after ``timeout`` seconds)."""
        wanted = set(ids)
        deadline = time.monotonic() + timeout
        with self._changed:
            while not wanted.issubset(self.done):
                if self._error is not None:
                    raise RuntimeError(f"SSE watcher failed: {self._error!r}")
                left = deadline - time.monotonic()
                if left <= 0:
                    missing = len(wanted - set(self.done))
                    raise TimeoutError(f"{missing} downloads not final after {timeout} s")
                self._changed.wait(min(left, 0.5))
            return {i: self.done[i] for i in wanted}


def clone_downloads(
    db_path: Path,
    template_id: int,
    count: int,
    overrides: Callable[[int], dict[str, Any]],
) -> float:
    """Insert ``count`` copies of download ``template_id`` (and copies of its events) straight
    into a haul SQLite database, each changed by ``overrides(n)``; returns the seconds taken.

    The template is a row haul itself stored, so the copies carry exactly the column values
    haul writes; this fills a database in seconds where the API would take minutes. Safe
    while the server runs: one transaction, and haul waits on SQLite's busy timeout.
    """
    started = time.monotonic()
    con = sqlite3.connect(db_path, timeout=60)
    try:
        con.row_factory = sqlite3.Row
        template = con.execute("SELECT * FROM downloads WHERE id = ?", (template_id,)).fetchone()
        events = con.execute(
            "SELECT * FROM download_events WHERE download_id = ? ORDER BY id", (template_id,)
        ).fetchall()
        columns = [c for c in template.keys() if c != "id"]  # noqa: SIM118 - sqlite3.Row
        event_columns = [c for c in events[0].keys() if c not in ("id", "download_id")]  # noqa: SIM118
        first_id = con.execute("SELECT max(id) FROM downloads").fetchone()[0] + 1
        rows, event_rows = [], []
        for n in range(count):
            values = {**dict(template), **overrides(n)}
            rows.append([first_id + n, *(values[c] for c in columns)])
            for event in events:
                event_rows.append([first_id + n, *(event[c] for c in event_columns)])
        with con:
            con.executemany(
                f"INSERT INTO downloads (id, {', '.join(columns)}) "  # noqa: S608 - known columns
                f"VALUES ({', '.join('?' * (len(columns) + 1))})",
                rows,
            )
            con.executemany(
                f"INSERT INTO download_events (download_id, {', '.join(event_columns)}) "  # noqa: S608
                f"VALUES ({', '.join('?' * (len(event_columns) + 1))})",
                event_rows,
            )
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    return time.monotonic() - started


def sqlite_scalar(db_path: Path, sql: str, *params: Any) -> Any:
    con = sqlite3.connect(db_path, timeout=60)
    try:
        return con.execute(sql, params).fetchone()[0]
    finally:
        con.close()


def sqlite_now() -> str:
    """A timestamp as haul stores it in SQLite (naive UTC, ``YYYY-MM-DD HH:MM:SS.ffffff``)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


class RawHttp:
    """A minimal HTTP/1.1 keep-alive client over asyncio streams, for request-rate figures.

    httpx's AsyncClient spends about 2 ms of CPU per request on this machine (measured: 244
    GET /healthz per second through httpx against 2,776 through this client, same server and
    concurrency), which on two cores takes CPU from the server being measured. This client
    sends a prepared request and reads the status line, headers and Content-Length body;
    nothing else (no chunked bodies, no redirects), which is all a rate benchmark needs.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port

    @staticmethod
    def request(method: str, path: str, body: Any = None) -> bytes:
        head = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n"
        if body is None:
            return (head + "\r\n").encode()
        data = json.dumps(body).encode()
        head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
        return head.encode() + data

    async def run(
        self, requests: list[bytes], concurrency: int
    ) -> tuple[float, list[float], list[int]]:
        """Send every request over ``concurrency`` connections; (seconds, latencies, statuses)."""
        import asyncio

        pending = iter(requests)
        latencies: list[float] = []
        statuses: list[int] = []

        async def connection() -> None:
            reader, writer = await asyncio.open_connection(self.host, self.port)
            try:
                for request in pending:
                    sent = time.monotonic()
                    writer.write(request)
                    await writer.drain()
                    head = await reader.readuntil(b"\r\n\r\n")
                    length = 0
                    for line in head.split(b"\r\n")[1:]:
                        name, _, value = line.partition(b":")
                        if name.strip().lower() == b"content-length":
                            length = int(value)
                    await reader.readexactly(length)
                    latencies.append(time.monotonic() - sent)
                    statuses.append(int(head.split(b" ", 2)[1]))
            finally:
                writer.close()
                await writer.wait_closed()

        started = time.monotonic()
        await asyncio.gather(*(connection() for _ in range(concurrency)))
        return time.monotonic() - started, latencies, statuses


def cpu_seconds(pid: int) -> dict[str, float]:
    """CPU seconds a process used so far: user and system of all its threads, and of its
    main thread (the event loop), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")

    def times(stat: Path) -> tuple[float, float]:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) / tick, int(fields[12]) / tick

    user, system = times(Path(f"/proc/{pid}/stat"))
    main_user, main_system = times(Path(f"/proc/{pid}/task/{pid}/stat"))
    return {"user": user, "system": system, "loop user": main_user, "loop system": main_system}
