"""A test origin HTTP server with Range, throttling, fault injection and a request log.

``python -m http.server`` answers no Range requests, so resume tests (and aria2 unpause) need
an origin of the suite's own. This one listens on 127.0.0.1 on a free port, serves registered
bytes, files and directories over HTTP/1.1 with keep-alive, and stays fast when unthrottled
(``os.sendfile`` for files, one large ``sendall`` for bytes) because benchmarks compare haul
against curl on this same server.

    with Origin() as origin:
        origin.add_file("/a.bin", b"x" * 1000, filename="a.bin")
        origin.throttle("/a.bin", 50_000)             # bytes per second, so pauses can be seen
        origin.fault("/a.bin", "status", status=503)  # the next request gets a 503
        origin.add_redirect("/old", origin.url("/a.bin"))  # 302 to there, every time
        httpx.get(origin.url("/a.bin"), headers={"Range": "bytes=10-"})
        assert origin.requests[-1].range_header == "bytes=10-"

Every connection runs in its own thread; :meth:`Origin.close` shuts the open connections down
and joins every thread, so nothing leaks into the next test (the suite turns ResourceWarnings
and unhandled thread exceptions into errors). Tests wait on the origin's state with
``tests.support.wait`` (a condition and a deadline), never by sleeping and hoping.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import http.server
import mimetypes
import os
import selectors
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FaultKind = str  # see Origin.fault
FAULT_KINDS = frozenset(
    {"status", "reset", "slow_headers", "bad_total", "404", "ignore_if_range", "short_body"}
    | {"no_length", "ignore_range"}
)

CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".mp4": "video/mp4",
    ".vtt": "text/vtt",
    ".srt": "application/x-subrip",
    ".html": "text/html; charset=utf-8",
}

_THROTTLE_TICK = 0.02  # seconds between throttled writes: a closed client is noticed this fast
_SENDFILE_BLOCK = 64 << 20


@dataclass
class RequestRecord:
    """One request the origin answered (or is answering: ``finished`` is None until done)."""

    method: str
    path: str
    range_header: str | None
    client_port: int
    started: float
    status: int | None = None
    bytes_sent: int = 0  # body bytes handed to the socket; grows while the body is sent
    finished: float | None = None
    headers: dict[str, str] = field(default_factory=dict)  # the request headers


@dataclass(frozen=True)
class _Resource:
    content_type: str
    data: bytes | None = None
    file: Path | None = None
    filename: str | None = None
    disposition: bytes | None = None  # a whole Content-Disposition value, sent as these bytes
    ranges: bool = True
    etag: str | None = None  # for bytes; files derive theirs from stat
    last_modified: str | None = None


@dataclass
class _Fault:
    kind: FaultKind
    remaining: int | None  # None: forever
    opts: dict[str, Any]


@dataclass(frozen=True)
class _Body:
    """The resolved representation one response sends."""

    resource: _Resource
    size: int
    etag: str
    last_modified: str


class Origin:
    """An HTTP origin on 127.0.0.1 that starts at construction and stops at :meth:`close`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, _Resource] = {}
        self._dirs: dict[str, Path] = {}
        self._throttles: dict[str, int] = {}
        self._at_once: dict[str, int] = {}
        self._faults: dict[str, list[_Fault]] = {}
        self._cookies: dict[str, str] = {}
        self._requests: list[RequestRecord] = []
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._closing = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self._wake_r, self._wake_w = socket.socketpair()
        self.port: int = self._listener.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._acceptor = threading.Thread(target=self._accept_loop, name="origin-accept")
        self._acceptor.daemon = True
        self._acceptor.start()

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> Origin:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop accepting, cut every open connection and join all threads."""
        if self._closing.is_set():
            return
        self._closing.set()
        self._wake_w.send(b"x")
        self._acceptor.join()
        self._listener.close()
        self._wake_r.close()
        self._wake_w.close()
        with self._lock:
            for conn in self._connections:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
            threads = list(self._connections.values())
        for thread in threads:
            thread.join(timeout=10)

    def url(self, path: str) -> str:
        return self.base_url + path

    # -- content -----------------------------------------------------------------------------

    def add_file(
        self,
        path: str,
        data: bytes | Path,
        content_type: str = "application/octet-stream",
        *,
        filename: str | None = None,
        disposition: bytes | None = None,
        ranges: bool = True,
        etag: str | None = None,
        modified: float | None = None,
    ) -> None:
        """Serve ``data`` at ``path``; a Path is read at each request (so it may be huge).

        ``filename`` adds ``Content-Disposition: attachment``; ``disposition`` sends that
        header's value as these very bytes (latin-1, broken UTF-8, ...); ``ranges=False`` makes
        the origin ignore Range headers and always answer 200, like servers that cannot seek.
        Adding the same path again replaces the content (and, for bytes, the ETag). For bytes,
        ``etag`` and ``modified`` (a POSIX time) replace the derived ETag and Last-Modified, so
        a test can change a file while keeping one of them.
        """
        if isinstance(data, Path):
            resource = _Resource(
                content_type, file=data, filename=filename, disposition=disposition, ranges=ranges
            )
        else:
            digest = hashlib.blake2b(data, digest_size=8).hexdigest()
            when = time.time() if modified is None else modified
            stamp = email.utils.formatdate(when, usegmt=True)
            resource = _Resource(
                content_type,
                data=bytes(data),
                filename=filename,
                disposition=disposition,
                ranges=ranges,
                etag=etag or f'"{digest}"',
                last_modified=stamp,
            )
        with self._lock:
            self._files[path] = resource

    def add_page(self, path: str, html: str) -> None:
        self.add_file(path, html.encode(), "text/html; charset=utf-8")

    def add_redirect(self, path: str, location: str, status: int = 302) -> None:
        """Answer every request for ``path`` with ``status`` and ``Location: location``."""
        self.fault(path, "status", times=None, status=status, headers={"Location": location})

    def add_dir(self, prefix: str, directory: Path) -> None:
        """Serve every file under ``directory`` at ``prefix/<relative path>`` (HLS, subtitles)."""
        with self._lock:
            self._dirs[prefix.rstrip("/") + "/"] = directory.resolve()

    def require_cookie(self, path: str, cookie: str) -> None:
        """Answer 403 to a request for ``path`` whose ``Cookie`` header lacks ``cookie``
        (``name=value``), as a site does for a visitor who is not signed in."""
        with self._lock:
            self._cookies[path] = cookie

    def throttle(self, path: str, bytes_per_second: int | None) -> None:
        """Limit the body rate of ``path``; None removes the limit (also for running sends)."""
        with self._lock:
            if bytes_per_second is None:
                self._throttles.pop(path, None)
            else:
                self._throttles[path] = max(1, bytes_per_second)

    def one_at_a_time(self, path: str, most: int | None = 1) -> None:
        """Answer 503 to a request for ``path`` while ``most`` others for it are being
        answered, as IPTV panels and some file hosts do (None: no cap)."""
        with self._lock:
            if most is None:
                self._at_once.pop(path, None)
            else:
                self._at_once[path] = most

    def fault(self, path: str, kind: FaultKind, times: int | None = 1, **opts: Any) -> None:
        """Misbehave on the next ``times`` requests for ``path`` (None: forever).

        ``status``: answer ``status=503`` (with optional ``headers={...}``) instead of the file.
        ``reset``: send the headers and ``after_bytes=N`` body bytes, then reset the connection.
        ``slow_headers``: wait ``delay`` seconds before the status line, then answer normally.
        ``bad_total``: answer normally but announce ``total=N`` as the complete length in
        Content-Range (206 only), so the client sees a length mismatch.
        ``404``: answer 404 forever (``times`` is ignored).
        ``ignore_if_range``: answer a Range request with 206 even when its If-Range names an
        older version, like servers that ignore If-Range: the rest of the new file.
        ``short_body``: announce the whole length but send ``after_bytes=N`` body bytes, then
        close the connection normally (a server that lies about Content-Length).
        ``no_length``: answer without Content-Length, ending the body by closing the connection.
        ``ignore_range``: answer a Range request with 200 and the whole file, although the
        file's answers say ``Accept-Ranges: bytes`` (a server that promises ranges it does not
        serve).
        ``method="GET"`` (any kind) limits the fault to requests of that method.
        Faults queue: the first one with requests left applies.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        if kind == "404":
            kind, times, opts = "status", None, {"status": 404}
        with self._lock:
            self._faults.setdefault(path, []).append(_Fault(kind, times, opts))

    def clear_faults(self, path: str | None = None) -> None:
        with self._lock:
            if path is None:
                self._faults.clear()
            else:
                self._faults.pop(path, None)

    # -- observation -------------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of the request log, oldest first (records of running requests still grow)."""
        with self._lock:
            return list(self._requests)

    def requests_for(self, path: str) -> list[RequestRecord]:
        return [r for r in self.requests if r.path == path]

    def bytes_served(self, path: str) -> int:
        return sum(r.bytes_sent for r in self.requests_for(path))

    # -- internals ---------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not self._closing.is_set():
                for key, _ in selector.select():
                    if key.fileobj is not self._listener or self._closing.is_set():
                        continue
                    try:
                        conn, address = self._listener.accept()
                    except OSError:
                        continue
                    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    thread = threading.Thread(
                        target=self._serve_connection, args=(conn, address), name="origin-conn"
                    )
                    thread.daemon = True
                    with self._lock:
                        self._connections[conn] = thread
                    thread.start()

    def _serve_connection(self, conn: socket.socket, address: tuple[str, int]) -> None:
        try:
            _Handler(conn, address, self)  # type: ignore[arg-type]
        except OSError:
            pass  # the client went away; that is its right
        finally:
            with self._lock:
                self._connections.pop(conn, None)
                conn.close()

    def _lookup(self, path: str) -> _Resource | None:
        with self._lock:
            resource = self._files.get(path)
            if resource is not None:
                return resource
            dirs = sorted(self._dirs.items(), key=lambda item: -len(item[0]))
        for prefix, directory in dirs:
            if path.startswith(prefix):
                candidate = (directory / path[len(prefix) :]).resolve()
                if candidate.is_relative_to(directory) and candidate.is_file():
                    return _Resource(_guess_type(candidate), file=candidate)
        return None

    def _take_fault(self, path: str, method: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults.get(path, []):
                if fault.opts.get("method", method) != method:
                    continue
                if fault.remaining is None:
                    return fault
                if fault.remaining > 0:
                    fault.remaining -= 1
                    return fault
        return None

    def _rate(self, path: str) -> int | None:
        with self._lock:
            return self._throttles.get(path)

    def _record(self, record: RequestRecord) -> bool:
        """Record a request; whether it may be answered (see :meth:`one_at_a_time`)."""
        with self._lock:
            most = self._at_once.get(record.path)
            busy = most is not None and (
                sum(1 for r in self._requests if r.path == record.path and r.finished is None)
                >= most
            )
            self._requests.append(record)
            return not busy


class _Handler(http.server.BaseHTTPRequestHandler):
    """Answers GET and HEAD for one connection; everything else gets the stdlib's 501."""

    protocol_version = "HTTP/1.1"
    server: Origin  # type: ignore[assignment]

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request log is the record; stderr noise helps nobody

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def _serve(self, *, head: bool) -> None:
        origin = self.server
        path = self.path.split("?", 1)[0]
        record = RequestRecord(
            method=self.command,
            path=path,
            range_header=self.headers.get("Range"),
            client_port=self.client_address[1],
            started=time.monotonic(),
            headers=dict(self.headers.items()),
        )
        free = origin._record(record)
        try:
            if not free:
                self._send_status(record, 503, {}, head=head)
                return
            self._respond(record, head=head)
        except OSError:
            self.close_connection = True
        finally:
            record.finished = time.monotonic()

    def _respond(self, record: RequestRecord, *, head: bool) -> None:
        origin = self.server
        fault = origin._take_fault(record.path, record.method)
        delay = float(fault.opts.get("delay", 1.0)) if fault else 0.0
        if fault is not None and fault.kind == "slow_headers" and origin._closing.wait(delay):
            self.close_connection = True
            return
        if fault is not None and fault.kind == "status":
            self._send_status(record, int(fault.opts.get("status", 503)), fault.opts, head=head)
            return
        with origin._lock:
            wanted_cookie = origin._cookies.get(record.path)
        sent = [c.strip() for c in self.headers.get("Cookie", "").split(";")]
        if wanted_cookie is not None and wanted_cookie not in sent:
            self._send_status(record, 403, {}, head=head)
            return
        resource = origin._lookup(record.path)
        body = _resolve(resource) if resource is not None else None
        if body is None:
            self._send_status(record, 404, {}, head=head)
            return

        start, end, status = 0, body.size - 1, 200
        range_header = record.range_header if body.resource.ranges else None
        if fault is not None and fault.kind == "ignore_range":
            range_header = None
        if_range = self.headers.get("If-Range")
        ignores_if_range = fault is not None and fault.kind == "ignore_if_range"
        stale = if_range and if_range not in (body.etag, body.last_modified)
        if range_header and stale and not ignores_if_range:
            range_header = None  # the client's copy is stale: send the whole new file
        if range_header:
            wanted = parse_range(range_header, body.size)
            if wanted == "unsatisfiable":
                headers = {"Content-Range": f"bytes */{body.size}"}
                self._send_status(record, 416, {"headers": headers}, head=head)
                return
            if wanted is not None:
                (start, end), status = wanted, 206

        length = end - start + 1
        record.status = status
        self.send_response(status)
        self.send_header("Content-Type", body.resource.content_type)
        if fault is not None and fault.kind == "no_length":
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes" if body.resource.ranges else "none")
        self.send_header("ETag", body.etag)
        self.send_header("Last-Modified", body.last_modified)
        if body.resource.filename is not None:
            disposition = f'attachment; filename="{body.resource.filename}"'
            self.send_header("Content-Disposition", disposition)
        if body.resource.disposition is not None:  # send_header writes latin-1: these bytes
            self.send_header("Content-Disposition", body.resource.disposition.decode("latin-1"))
        if status == 206:
            total = body.size
            if fault is not None and fault.kind == "bad_total":
                total = int(fault.opts["total"])
            self.send_header("Content-Range", f"bytes {start}-{end}/{total}")
        self.end_headers()
        if head:
            return
        if fault is not None and fault.kind in ("reset", "short_body"):
            after = min(length, int(fault.opts.get("after_bytes", 0)))
            self._send_body(record, body.resource, start, after)
            if fault.kind == "reset":
                self._reset()
            else:
                self.close_connection = True
        else:
            self._send_body(record, body.resource, start, length)

    def _send_status(
        self, record: RequestRecord, status: int, opts: dict[str, Any], *, head: bool
    ) -> None:
        record.status = status
        reason = self.responses.get(status, ("",))[0]
        data = f"{status} {reason}\n".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in dict(opts.get("headers", {})).items():
            self.send_header(name, str(value))
        self.end_headers()
        if not head:
            self.wfile.write(data)
            record.bytes_sent = len(data)

    def _send_body(
        self, record: RequestRecord, resource: _Resource, start: int, count: int
    ) -> None:
        origin = self.server
        sock: socket.socket = self.connection
        if resource.data is not None:
            view = memoryview(resource.data)[start : start + count]
            for piece in _paced(view, origin, record):
                sock.sendall(piece)
                record.bytes_sent += len(piece)
            return
        assert resource.file is not None
        with resource.file.open("rb") as handle:
            if origin._rate(record.path) is None:
                self._sendfile(record, sock, handle.fileno(), start, count)
                if record.bytes_sent >= count:
                    return
                start, count = start + record.bytes_sent, count - record.bytes_sent
            handle.seek(start)
            for piece in _paced(_read_chunks(handle, count), origin, record):
                sock.sendall(piece)
                record.bytes_sent += len(piece)

    def _sendfile(
        self, record: RequestRecord, sock: socket.socket, fd: int, at: int, n: int
    ) -> None:
        """Zero-copy send, in blocks so a throttle set meanwhile takes effect soon."""
        origin = self.server
        while n > 0 and origin._rate(record.path) is None:
            sent = os.sendfile(sock.fileno(), fd, at, min(n, _SENDFILE_BLOCK))
            if sent == 0:
                raise ConnectionError("file ended early")
            at, n = at + sent, n - sent
            record.bytes_sent += sent

    def _reset(self) -> None:
        """Close with RST instead of FIN, like a crashed server or a dropped NAT entry."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _paced(
    source: memoryview | Iterator[bytes], origin: Origin, record: RequestRecord
) -> Iterator[memoryview | bytes]:
    """Yield pieces of ``source`` no faster than the path's throttle allows (re-read each tick)."""
    pieces = _split(source) if isinstance(source, memoryview) else source
    began, sent = time.monotonic(), 0
    for piece in pieces:
        offset = 0
        while offset < len(piece):
            rate = origin._rate(record.path)
            if rate is None:
                yield piece[offset:]
                sent += len(piece) - offset
                break
            step = max(1, int(rate * _THROTTLE_TICK))
            due = began + sent / rate
            delay = due - time.monotonic()
            if delay > 0 and origin._closing.wait(delay):
                raise ConnectionAbortedError("origin closing")
            chunk = piece[offset : offset + step]
            yield chunk
            offset += len(chunk)
            sent += len(chunk)


def _split(view: memoryview, size: int = 16 << 20) -> Iterator[memoryview]:
    for at in range(0, len(view), size):
        yield view[at : at + size]


def _read_chunks(handle: Any, count: int, size: int = 1 << 20) -> Iterator[bytes]:
    while count > 0:
        data = handle.read(min(size, count))
        if not data:
            raise ConnectionError("file ended early")
        count -= len(data)
        yield data


def _resolve(resource: _Resource) -> _Body | None:
    if resource.data is not None:
        assert resource.etag is not None and resource.last_modified is not None
        return _Body(resource, len(resource.data), resource.etag, resource.last_modified)
    assert resource.file is not None
    try:
        stat = resource.file.stat()
    except OSError:
        return None
    etag = f'"{stat.st_ino:x}-{stat.st_size:x}-{stat.st_mtime_ns:x}"'
    stamp = email.utils.formatdate(stat.st_mtime, usegmt=True)
    return _Body(resource, stat.st_size, etag, stamp)


def parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """One ``bytes=`` range as inclusive (start, end), "unsatisfiable", or None to ignore it.

    Multiple ranges and malformed headers are ignored (the full file is sent), which RFC 9110
    allows; only a well-formed range that misses the file is unsatisfiable.
    """
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash or not (first.isdigit() or last.isdigit()):
        return None
    if (first and not first.isdigit()) or (last and not last.isdigit()):
        return None
    if not first:  # suffix: the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - suffix), size - 1
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        return "unsatisfiable"
    return start, min(int(last), size - 1) if last else size - 1


def _guess_type(path: Path) -> str:
    known = CONTENT_TYPES.get(path.suffix.lower())
    if known is not None:
        return known
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"
