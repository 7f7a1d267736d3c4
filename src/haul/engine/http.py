"""The direct-HTTP engine: one GET streamed into ``<name>.part``, resumed with Range.

Used for sources that resolve found to be plain files, so no yt-dlp extraction is paid for.

Naming and resume. The target is ``job.dest_dir / name``. When ``job.filename`` is given it is
the name (sanitized, never a path) and the engine treats ``name`` and ``name.part`` as its own:
an existing ``.part`` is resumed and a finished file of the same name is replaced. When it is
None (a first attempt), the name comes from Content-Disposition, the URL or the content type
(:func:`filename_for`), and the engine claims a free one: if ``name`` or ``name.part`` exists it
takes ``name (1).ext``, ``name (2).ext``..., creating the ``.part`` exclusively so two jobs
never share one. The chosen name is announced in every :class:`Progress` (the first one comes
before any body byte) and in ``EngineResult.meta["filename"]``: the caller stores it and passes
it as ``job.filename`` on later attempts, which makes the choice deterministic for a job.

The validator (strong ETag, else Last-Modified) of the response that started a ``.part`` is
kept in the part's ``user.haul.validator`` extended attribute, or comes from
``job.hints["etag"]``/``["last_modified"]``, and is sent as ``If-Range`` when resuming, so a
file that changed on the server is fetched again (answer 200) rather than spliced.

Throughput. Bodies are read with ``aiter_raw`` (no decoding: ``Accept-Encoding: identity`` is
asked) in network-sized pieces and gathered in a ``chunk_size`` file buffer; writes stay on the
event loop because page-cache writes of that size block it for well under a millisecond
(measured), less than a hop to a thread costs. Progress is reported at most every 0.25 s. Stop
requests are seen between pieces and, when a read stalls, by a small watcher task that cancels
the transfer; both end in :class:`TransferStopped` with the ``.part`` kept for resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import errno
import http
import mimetypes
import os
import re
import socket
import time
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit

import httpx

from haul.engine.base import (
    EngineJob,
    EngineResult,
    Progress,
    ProgressCallback,
    RateMeter,
    StopSignal,
)
from haul.errors import (
    LengthMismatch,
    PermanentTransferError,
    TransferError,
    TransferStopped,
    TransientTransferError,
)

MAX_NAME_BYTES = 200
PROGRESS_INTERVAL = 0.25  # seconds between progress callbacks
_VALIDATOR_XATTR = "user.haul.validator"
_FALLBACK_NAME = "download"
_EXTENSIONS = {  # preferred over mimetypes, whose answers differ between systems
    "application/octet-stream": ".bin",
    "application/pdf": ".pdf",
    "application/vnd.apple.mpegurl": ".m3u8",
    "application/x-bittorrent": ".torrent",
    "application/x-subrip": ".srt",
    "application/zip": ".zip",
    "audio/mp4": ".m4a",
    "audio/mpeg": ".mp3",
    "audio/ogg": ".ogg",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "text/html": ".html",
    "text/plain": ".txt",
    "text/vtt": ".vtt",
    "video/mp2t": ".ts",
    "video/mp4": ".mp4",
    "video/webm": ".webm",
    "video/x-matroska": ".mkv",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_RESERVED = re.compile(r'[<>:"|?*]')
_PARAM = re.compile(r';\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.IGNORECASE)


# -- naming (pure) ----------------------------------------------------------------------------


def filename_for(url: str, content_disposition: str | None, content_type: str | None) -> str:
    """A safe file name for a download: never a path, never empty, at most 200 bytes.

    Content-Disposition wins (``filename*`` before ``filename``) and is kept as the server
    spelled it; a name from the last URL path segment that has no extension gets one from the
    content type (``/watch/42`` as video/mp4 is ``42.mp4``); the last resort is ``download``.
    """
    return _named(_disposition_name(content_disposition), _url_name(url), content_type)


def sanitize_filename(name: str) -> str:
    """``name`` reduced to a harmless base name ("" when nothing usable is left).

    Directories, ``..``, NUL and other control characters go; characters Windows and SMB
    shares refuse become ``_``; leading dots go (no hidden files); the result is cut to 200
    UTF-8 bytes, keeping the extension.
    """
    name = unicodedata.normalize("NFC", name).replace("\\", "/").split("/")[-1]
    name = _RESERVED.sub("_", _CONTROL.sub("", name))
    name = name.strip().lstrip(".").rstrip(". ").strip()
    return _truncate(name, MAX_NAME_BYTES)


def part_path(final: Path) -> Path:
    """Where the bytes of ``final`` gather until the download is complete."""
    return final.with_name(final.name + ".part")


def _named(chosen: str | None, derived: str, content_type: str | None) -> str:
    """A server-chosen name as it is; else one derived from the URL, with an extension."""
    safe = sanitize_filename(chosen or "")
    if safe:
        return safe
    safe = sanitize_filename(derived)
    extension = _extension_for(content_type)
    if not safe:
        return _FALLBACK_NAME + (extension or ".bin")
    if "." in safe or extension == ".bin":
        return safe
    return safe + extension


def _url_name(url: str) -> str:
    return unquote(urlsplit(url).path.split("/")[-1])


def _disposition_name(header: str | None) -> str | None:
    if not header:
        return None
    params: dict[str, str] = {}
    _, semicolon, rest = header.partition(";")  # skip the disposition type
    for key, raw in _PARAM.findall(semicolon + rest):
        value = raw.strip()
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        params[key.lower()] = value
    extended = params.get("filename*")
    if extended and extended.count("'") >= 2:
        charset, _, encoded = extended.split("'", 2)
        try:
            return unquote(encoded, encoding=charset or "utf-8", errors="replace")
        except LookupError:  # an unknown charset name
            return unquote(encoded, errors="replace")
    return params.get("filename")


def _extension_for(content_type: str | None) -> str:
    media_type = (content_type or "").split(";")[0].strip().lower()
    if not media_type:
        return ""
    return _EXTENSIONS.get(media_type) or mimetypes.guess_extension(media_type) or ""


def _truncate(name: str, limit: int) -> str:
    if len(name.encode()) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > 16:
        stem, ext = name, ""
    suffix = f".{ext}" if ext else ""
    room = limit - len(suffix.encode())
    return stem.encode()[:room].decode(errors="ignore").rstrip() + suffix


def _numbered(name: str, n: int) -> str:
    stem, dot, ext = name.rpartition(".")
    return f"{stem} ({n}).{ext}" if dot and stem else f"{name} ({n})"


# -- errors -------------------------------------------------------------------------------------


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def status_error(response: httpx.Response) -> TransferError:
    """The haul error for an HTTP error answer: 5xx and 429 may pass, other 4xx will not."""
    status = response.status_code
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = response.reason_phrase or "Error"
    said = f"The server answered {status} {reason} for {response.request.url}"
    code = f"http_{status}"
    if status == 429:
        wait = parse_retry_after(response.headers.get("retry-after"))
        hint = f"; it asks to wait {wait:.0f} seconds" if wait is not None else ""
        return TransientTransferError(f"{said}{hint}.", code=code, retry_after=wait)
    if status >= 500:
        wait = parse_retry_after(response.headers.get("retry-after"))
        return TransientTransferError(f"{said}; it may work later.", code=code, retry_after=wait)
    return PermanentTransferError(f"{said}.", code=code)


def network_error(exc: httpx.HTTPError | httpx.InvalidURL, url: str) -> TransferError:
    """The haul error for an httpx failure before or during the body."""
    host = urlsplit(url).hostname or url
    if isinstance(exc, httpx.TimeoutException):
        what = "connect to" if isinstance(exc, httpx.ConnectTimeout) else "hear from"
        return TransientTransferError(f"Timed out trying to {what} {host}.", code="timeout")
    if isinstance(exc, httpx.ConnectError) and _caused_by(exc, socket.gaierror):
        return TransientTransferError(f"Could not resolve the host name {host}.", code="dns")
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return PermanentTransferError(f"Cannot download {url}: {exc}.", code="invalid_url")
    if isinstance(exc, httpx.TooManyRedirects):
        return PermanentTransferError(f"{url} redirects too often.", code="too_many_redirects")
    if isinstance(exc, httpx.ConnectError):
        return TransientTransferError(f"Could not connect to {host}: {exc}.", code="connection")
    detail = str(exc) or type(exc).__name__
    return TransientTransferError(
        f"The connection to {host} broke during the download: {detail}.", code="connection"
    )


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _disk_error(exc: OSError, path: Path) -> TransferError:
    said = f"Could not write {path.name}: {exc.strerror or exc}."
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return TransientTransferError(said, code="disk_full")
    return PermanentTransferError(said, code="local_io")


# -- the engine ---------------------------------------------------------------------------------


@dataclass
class _Answer:
    """What one response promises: where its body starts and how long the file is."""

    start: int
    total: int | None
    validator: str | None
    content_type: str | None
    etag: str | None
    encoded: bool


class HttpEngine:
    """Downloads direct files over HTTP(S) with resume, verification and prompt stopping."""

    def __init__(
        self,
        client: httpx.AsyncClient | None = None,
        *,
        chunk_size: int = 1 << 20,
        connect_timeout: float = 15.0,
        read_timeout: float = 60.0,
        user_agent: str = "haul/0.1",
    ) -> None:
        self._timeout = httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout
        )
        self._headers = {"User-Agent": user_agent, "Accept-Encoding": "identity"}
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=self._timeout, follow_redirects=True)
        self._chunk_size = chunk_size

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def download(
        self, job: EngineJob, on_progress: ProgressCallback, stop: StopSignal
    ) -> EngineResult:
        """Fetch ``job.url`` into ``job.dest_dir``; see the module docstring for the rules."""
        if stop.is_set():
            raise TransferStopped()
        async with _StopWatch(stop):
            return await self._download(job, on_progress, stop)

    async def _download(
        self, job: EngineJob, on_progress: ProgressCallback, stop: StopSignal
    ) -> EngineResult:
        job.dest_dir.mkdir(parents=True, exist_ok=True)
        name = sanitize_filename(job.filename) if job.filename else None
        offset = _size_of(part_path(job.dest_dir / name)) if name else 0
        for _ in range(2):  # a second request only when the part proved unusable
            validator = _resume_validator(job, name) if offset else None
            async with self._open(job.url, offset, validator) as response:
                answer = self._check(response, offset, job)
                if answer is None:  # 416 on a resume: complete already, or a bogus part
                    assert name is not None
                    if _complete_part(response, offset, job):
                        return self._finish(job, name, offset, None, on_progress)
                elif answer.start == 0 or (answer.start == offset and not answer.encoded):
                    name = name or self._claim(job, response)
                    size = await self._receive(response, answer, job, name, on_progress, stop)
                    break
                if not offset:
                    raise TransientTransferError(
                        f"The server at {job.url} sent a part of the file nobody asked for.",
                        code="bad_range",
                    )
                offset = 0  # start over with a plain GET
        else:
            raise AssertionError("unreachable: the second request asks for no range")
        if answer.total is not None and size != answer.total:
            raise LengthMismatch(
                f"{job.url} announced {answer.total} bytes but {size} arrived; "
                "the partial file is kept for a retry.",
            )
        return self._finish(job, name, size, answer, on_progress)

    @contextlib.asynccontextmanager
    async def _open(
        self, url: str, offset: int, validator: str | None
    ) -> AsyncIterator[httpx.Response]:
        headers = dict(self._headers)
        if offset:
            headers["Range"] = f"bytes={offset}-"
            if validator:
                headers["If-Range"] = validator
        try:
            async with self._client.stream(
                "GET", url, headers=headers, timeout=self._timeout, follow_redirects=True
            ) as response:
                yield response
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise network_error(exc, url) from exc

    def _check(self, response: httpx.Response, offset: int, job: EngineJob) -> _Answer | None:
        """Classify the answer: an _Answer to stream, None for 416 on a resume, or raise."""
        status = response.status_code
        if status == 416 and offset:
            return None
        if status >= 400:
            raise status_error(response)
        if status not in (200, 206):
            raise PermanentTransferError(
                f"The server answered {status} for {job.url}, which is not a file.",
                code=f"http_{status}",
            )
        headers = response.headers
        encoded = headers.get("content-encoding", "identity").lower() not in ("identity", "")
        etag = headers.get("etag")
        validator = etag if etag and not etag.startswith("W/") else headers.get("last-modified")
        length = None if encoded else _int(headers.get("content-length"))
        start, total = 0, length
        if status == 206:
            match = _CONTENT_RANGE.match(headers.get("content-range", ""))
            start = int(match[1]) if match else -1  # -1: no usable range, start over
            total = int(match[3]) if match and match[3] != "*" else None
        return _Answer(start, total, validator, headers.get("content-type"), etag, encoded)

    def _claim(self, job: EngineJob, response: httpx.Response) -> str:
        """Choose and reserve a free name (first attempt only; see the module docstring)."""
        hinted = job.hints.get("filename")
        chosen = _disposition_name(response.headers.get("content-disposition")) or (
            hinted if isinstance(hinted, str) else None
        )
        content_type = response.headers.get("content-type")
        base = _named(chosen, _url_name(str(response.url)), content_type)
        for n in range(10_000):
            name = base if n == 0 else _numbered(base, n)
            final = job.dest_dir / name
            if final.exists():
                continue
            try:
                part_path(final).open("xb").close()
            except FileExistsError:
                continue
            except OSError as exc:
                raise _disk_error(exc, final) from exc
            return name
        raise PermanentTransferError(f"No free file name left for {base}.", code="local_io")

    async def _receive(
        self,
        response: httpx.Response,
        answer: _Answer,
        job: EngineJob,
        name: str,
        on_progress: ProgressCallback,
        stop: StopSignal,
    ) -> int:
        """Stream the body into the part file; return the part's final size.

        Pieces arrive as the network delivers them (so stop checks and progress keep pace on
        slow links) and gather in a ``chunk_size`` file buffer, one disk write per chunk, also
        flushed at each progress report. The file is closed, flushing what arrived, on every way
        out: stop, cancel or error.
        """
        part = part_path(job.dest_dir / name)
        size = answer.start
        meter = RateMeter()
        try:
            with part.open("r+b" if size else "wb", buffering=self._chunk_size) as file:
                file.seek(size)
                if size == 0 and answer.validator and not answer.encoded:
                    _store_validator(file.fileno(), answer.validator)
                meter.update(size, answer.total)  # the baseline the first speed is measured from
                on_progress(Progress(size, answer.total, filename=name))
                next_report = time.monotonic() + PROGRESS_INTERVAL
                pieces = response.aiter_bytes() if answer.encoded else response.aiter_raw()
                async for piece in pieces:
                    file.write(piece)
                    size += len(piece)
                    if stop.is_set():
                        raise TransferStopped()
                    now = time.monotonic()
                    if now >= next_report:
                        next_report = now + PROGRESS_INTERVAL
                        file.flush()  # the part on disk stays within one interval of this
                        speed, eta = meter.update(size, answer.total)
                        on_progress(Progress(size, answer.total, speed, eta, filename=name))
        except httpx.HTTPError as exc:
            raise network_error(exc, job.url) from exc
        except OSError as exc:
            raise _disk_error(exc, part) from exc
        return size

    def _finish(
        self,
        job: EngineJob,
        name: str,
        size: int,
        answer: _Answer | None,
        on_progress: ProgressCallback,
    ) -> EngineResult:
        final = job.dest_dir / name
        part = part_path(final)
        try:
            _drop_validator(part)
            part.replace(final)  # atomic within one filesystem
        except OSError as exc:
            raise _disk_error(exc, final) from exc
        on_progress(Progress(size, size, eta=0.0, filename=name))
        content_type = answer.content_type if answer else job.hints.get("content_type")
        meta = {
            "filename": name,
            "content_type": content_type,
            "etag": answer.etag if answer else None,
            "size": size,
        }
        return EngineResult(files=(final,), title=Path(name).stem or name, meta=meta)


class _StopWatch:
    """Turns a stop request into TransferStopped even while a read or connect is stalled.

    Between body pieces the engine checks the signal itself; this watcher covers the waits
    (slow headers, a silent server) by cancelling the task, the way ``asyncio.timeout`` does,
    and tells its own cancellation apart from the caller's with ``Task.uncancel``.
    """

    def __init__(self, stop: StopSignal, interval: float = 0.05) -> None:
        self._stop = stop
        self._interval = interval
        self._fired = False
        self._task: asyncio.Task[object] | None = None
        self._watcher: asyncio.Task[None] | None = None

    async def __aenter__(self) -> None:
        self._task = asyncio.current_task()
        self._watcher = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while not self._stop.is_set():  # noqa: ASYNC110 - a threading flag, no await
            await asyncio.sleep(self._interval)
        if self._task is not None:
            self._fired = True
            self._task.cancel()

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._watcher is not None and self._task is not None
        self._watcher.cancel()  # no await: it cannot fire after this line
        if self._fired and self._task.uncancel() == 0 and kind is asyncio.CancelledError:
            raise TransferStopped() from exc


# -- small file helpers -------------------------------------------------------------------------


def _size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
    except OSError as exc:
        raise _disk_error(exc, path) from exc


def _int(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


def _complete_part(response: httpx.Response, size: int, job: EngineJob) -> bool:
    """After a 416 on resume: is the part already the whole file?"""
    match = re.fullmatch(r"bytes\s+\*/(\d+)", response.headers.get("content-range", "").strip())
    total = int(match[1]) if match else job.hints.get("size")
    return isinstance(total, int) and total == size


def _resume_validator(job: EngineJob, name: str | None) -> str | None:
    if name is not None and hasattr(os, "getxattr"):
        with contextlib.suppress(OSError):
            return os.getxattr(part_path(job.dest_dir / name), _VALIDATOR_XATTR).decode()
    hinted = job.hints.get("etag") or job.hints.get("last_modified")
    return hinted if isinstance(hinted, str) else None


def _store_validator(fd: int, validator: str) -> None:
    """Remember what the part was cut from; best effort (not every filesystem has xattrs)."""
    if hasattr(os, "setxattr"):
        with contextlib.suppress(OSError):
            os.setxattr(fd, _VALIDATOR_XATTR, validator.encode())


def _drop_validator(part: Path) -> None:
    if hasattr(os, "removexattr"):
        with contextlib.suppress(OSError):
            os.removexattr(part, _VALIDATOR_XATTR)
