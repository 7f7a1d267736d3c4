"""The direct-HTTP engine: one GET streamed into ``<name>.part``, resumed with Range.

Used for plain files, so no yt-dlp extraction is paid for; its own GET is how the job runner
finds out whether a source is one (``accept``, below).

Naming and resume. The target is ``job.dest_dir / name``. When ``job.filename`` is given it is
the name (sanitized, never a path) and the engine treats ``name`` and ``name.part`` as its own:
an existing ``.part`` is resumed and a finished file of the same name is replaced. When it is
None (a first attempt), the name comes from Content-Disposition, the URL or the content type
(:func:`filename_for`), and the engine claims a free one (``name (1).ext``...; see
:mod:`haul.engine.partfile`). The chosen name is announced in every :class:`Progress` (the
first one comes before any body byte) and in ``EngineResult.meta["filename"]``: the caller
stores it and passes it as ``job.filename`` on later attempts, which makes the choice
deterministic for a job. A resume sends the validator the part was cut from as ``If-Range``, so
a file that changed on the server is fetched again (answer 200) rather than spliced.

Why aiohttp here when the rest of haul speaks httpx. Moving bytes is this engine's whole job,
and httpx's body path (pure-Python h11 behind 64 KiB reads through anyio) costs 2.4-2.9 times
curl's time on a fast link (1 GiB file; 200 files of 5 MB, 10 at once; test origin on
loopback). aiohttp parses in C and hands the body over as the network delivered it; on it the
same transfers take 0.9-1.0 times curl (big file) and 1.4-1.5 times (many files), on asyncio
and on uvloop, within the targets (1.15 and 2.0), so no hand-written HTTP client is needed.
How the body is taken matters: ``iter_chunks`` passes each network read on untouched, where
``iter_any`` and fixed-size reads join buffered reads (a copy that cost up to 30% on uvloop);
``chunk_size`` is the read-ahead (aiohttp's ``read_bufsize``: up to twice this is buffered
before the socket is paused). The pieces are written by a thread of the engine
(:mod:`haul.engine.writebehind`): one write of a network read blocks the loop for well under a
millisecond, less than a trip to a thread and back costs, but with ten transfers at full speed
the writes were a quarter of the loop thread's time; handed over without waiting, they run
on another core.

Given an :class:`~haul.net.guard.AddressPolicy`, every connection a request makes (its
redirects included) is checked against it (:func:`haul.net.guard.watch`) and a forbidden one
fails the request with :class:`~haul.errors.AddressRefused`; a request through a proxy of the
environment is not checked (the proxy connects, not haul).

The session is the engine's own, made on first use and closed by :meth:`aclose`. It trusts
the CA bundle httpx trusts (``httpx.create_ssl_context``, loaded once per process) and, like
httpx, honours the proxy variables of the environment, with credentials for the proxy from
``~/.netrc``. Both are read once, when the engine is made: aiohttp's own ``trust_env`` reads
them again for every request, in two trips to a thread (measured: two of the few loop turns a
small download costs). A site's credentials from ``~/.netrc`` are never sent: the engine
fetches URLs that anyone using haul gives, and the operator's logins (or a ``default`` entry,
which names every host) are not theirs to use. Credentials in a URL (``user:pass@host``) are
sent to that host, as aiohttp sends them. The site cookies the download's owner uploaded
(``job.cookies``) are sent to the sites they are for, chosen again for every redirect; the
cookies a site sets live only as long as the request that got them (:func:`request_cookies`).

A caller that does not know yet whether a URL is a file at all passes ``accept`` to
:meth:`HttpEngine.fetch`: it sees the final URL and the headers of the answer about to be
streamed, before any byte of the body is read or any file is made, and may decline it (a
page, a torrent): the response is then closed unread. The engine's GET is the probe.

Several connections. When the first answer shows a big file (its length at least the
threshold) from a server that takes ranges, the rest is fetched over several connections at
once by :mod:`haul.engine.segmented`, into the same part; the ranges on disk are then kept
beside it, and a resume starts where the first of them is missing (with ``If-Range`` from
there, even from 0). A server that does not serve ranges as promised ends that with
:class:`~haul.engine.segmented.RangesRefused`: the part is cut to what one connection can go
on from (nothing when the file changed) and the transfer goes on over one, with a notice.

Room on the disk. An answer that announces its length claims the bytes still to come before
a file is made (:mod:`haul.engine.diskspace`); one that does not fit beside the running
transfers' claims, or a write that finds the disk full, ends in :class:`~haul.errors.DiskFull`
with the part kept: the job runner queues the download to wait for space, spending no retry.

Progress is reported at most every 0.25 s. Stop requests are seen between pieces and, when a
read stalls, by a :class:`StopWatch` that cancels the transfer; both end in
:class:`TransferStopped` with the ``.part`` kept for resume.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import functools
import logging
import netrc
import os
import ssl
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
import httpx
from aiohttp import ClientRequest, ClientResponse
from aiohttp.client_middlewares import ClientHandlerType, ClientMiddlewareType

from haul.core.cookies import SiteCookies
from haul.core.paths import sanitize_filename
from haul.core.proxies import credentials, without_credentials
from haul.core.segments import Plan, gaps, merge
from haul.engine import partfile
from haul.engine.answer import Answer, PartSource, changed_since, classify, complete_after_416
from haul.engine.base import (
    PROGRESS_INTERVAL,
    Accept,
    EngineJob,
    EngineResult,
    Progress,
    ProgressCallback,
    RateMeter,
    StopSignal,
)
from haul.engine.diskspace import DiskSpace
from haul.engine.filenames import (
    PART_SUFFIX,
    disposition_name,
    filename_for,
    named,
    part_path,
    titled,
    url_name,
)
from haul.engine.http_errors import (
    disk_error,
    network_error,
    parse_retry_after,
    proxy_answer,
    proxy_transport_error,
    status_error,
    transport_error,
    with_cookies_hint,
)
from haul.engine.segmented import HostSlots, RangesRefused, SegmentedTransfer, Segmenting
from haul.engine.stopwatch import StopWatch
from haul.engine.writebehind import WriteBehind
from haul.errors import (
    DiskFull,
    LengthMismatch,
    PermanentTransferError,
    TransferStopped,
    TransientTransferError,
)
from haul.net import guard

__all__ = [
    "HttpEngine",
    "filename_for",
    "network_error",
    "parse_retry_after",
    "part_path",
    "status_error",
]


log = logging.getLogger(__name__)


_MAX_CONNECTIONS = 200


class HttpEngine:
    """Downloads direct files over HTTP(S) with resume, verification and prompt stopping.

    Transfers run on the engine's own aiohttp session (see the module docstring). One engine
    serves one event loop; :meth:`aclose` closes its session.
    """

    def __init__(
        self,
        *,
        chunk_size: int = 1 << 20,
        connect_timeout: float = 15.0,
        read_timeout: float = 60.0,
        user_agent: str = "haul/0.1",
        addresses: guard.AddressPolicy | None = None,
        space: DiskSpace | None = None,
        segmenting: Segmenting | None = None,
    ) -> None:
        self._timeout = aiohttp.ClientTimeout(connect=connect_timeout, sock_read=read_timeout)
        self._headers = {"User-Agent": user_agent, "Accept-Encoding": "identity"}
        self._chunk_size = chunk_size
        self._session: aiohttp.ClientSession | None = None
        # Read now, not with the first transfer: loading the CA bundle takes 30-70 ms.
        self._ssl = _trusted_context()
        self._environment = _Environment.read()
        self._writer = WriteBehind()
        self._addresses = addresses
        self._space = space or DiskSpace()
        self._segmenting = segmenting or Segmenting()
        self._slots = HostSlots(self._segmenting.per_host)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        await asyncio.to_thread(self._writer.close)

    async def run(
        self, job: EngineJob, on_progress: ProgressCallback, stop: StopSignal
    ) -> EngineResult | None:
        """Fetch ``job.url`` into ``job.dest_dir`` (see the module docstring for the rules),
        asking ``job.accept`` first whether the answer is wanted; None when it declined
        (nothing was written). A resume answered 416 (the part is complete already) finishes
        without asking: only a file has a part."""
        if stop.is_set():
            raise TransferStopped()
        try:
            async with StopWatch(stop):
                return await self._download(job, on_progress, stop, job.accept)
        except PermanentTransferError as exc:
            site = job.cookies.site_of(job.url) if job.cookies else None
            hinted = with_cookies_hint(exc, site)
            if hinted is exc:
                raise
            raise hinted from exc

    async def download(
        self, job: EngineJob, on_progress: ProgressCallback, stop: StopSignal
    ) -> EngineResult:
        """:meth:`run` for a job that declines nothing."""
        result = await self.run(job, on_progress, stop)
        assert result is not None, "only an accept callback declines"
        return result

    async def _download(
        self,
        job: EngineJob,
        on_progress: ProgressCallback,
        stop: StopSignal,
        accept: Accept | None,
    ) -> EngineResult | None:
        try:
            return await self._attempt(job, on_progress, stop, accept)
        except RangesRefused as exc:
            # What one connection fetched is verified; what the others did may not be.
            assert exc.part is not None
            notice = f"Going on over one connection: {exc.message}."
            log.warning("%s: %s", job.url, notice)
            try:
                if exc.changed:
                    exc.part.unlink(missing_ok=True)
                else:
                    os.truncate(exc.part, exc.kept)
                partfile.drop_ranges(exc.part)
            except OSError as error:
                raise disk_error(error, exc.part) from error
            name = exc.part.name.removesuffix(PART_SUFFIX)
            on_progress(Progress(exc.kept, None, filename=name, notice=notice))
            again = dataclasses.replace(job, filename=name)
            return await self._attempt(again, on_progress, stop, None, single=True)

    async def _attempt(
        self,
        job: EngineJob,
        on_progress: ProgressCallback,
        stop: StopSignal,
        accept: Accept | None,
        *,
        single: bool = False,
    ) -> EngineResult | None:
        name = sanitize_filename(job.filename) if job.filename else None
        part = part_path(job.dest_dir / name) if name else None
        offset, kept, end = _resume_point(part)
        resuming = bool(offset) or kept is not None
        for _ in range(2):  # a second request only when the part proved unusable
            source = _part_source(job, name) if resuming else PartSource()
            opened = self._open(
                job.url, offset, source.validator, job.cookies, job.proxy, ranged=resuming, end=end
            )
            async with opened as response:
                answer = classify(
                    response.status,
                    response.reason,
                    response.headers,
                    url=str(response.url),
                    offset=offset,
                )
                if answer is None:  # 416 on a resume: complete already, or a bogus part
                    assert name is not None
                    if complete_after_416(response.headers, offset, job.hints.get("size")):
                        return _finish(job, name, offset, None, on_progress)
                elif resuming and answer.start == offset and (why := changed_since(source, answer)):
                    # A server that ignores If-Range offers the rest of another file.
                    _restarting(job, name, f"{why} since the download began", on_progress)
                    offset, kept, end, resuming = 0, None, None, False
                    continue  # closed unread; the part goes when the new one is opened
                elif answer.start == 0 or (answer.start == offset and not answer.encoded):
                    accepted = accept is None or await accept(
                        str(response.url), response.status, response.headers
                    )
                    if not accepted:
                        return None  # closed unread
                    keep = resuming and answer.start == offset and response.status == 206
                    if resuming and not keep:
                        why = "the server sent the whole file instead of the rest"
                        _restarting(job, name, why, on_progress)
                    # A part with holes goes on in ranges, even over one connection: the
                    # ranges kept say what is missing.
                    segmented = (keep and kept is not None and answer.total is not None) or (
                        not single
                        and self._segmenting.wanted(job, answer, response.headers, response.status)
                    )
                    # The part is made here, not in a thread, although making a folder and
                    # a file can take ~0.4 ms each (ext4 in a VM): the body must be read from
                    # the moment it is wanted, or a connection reset while a thread works
                    # would lose what arrived before it (aiohttp raises before buffered data).
                    if answer.total is not None:  # before any file is made
                        self._space.claim(job.dest_dir, answer.total - answer.start)
                    try:
                        wanted = name or _wanted_name(job, response)
                        name, file = _prepare(job, wanted, name is None, answer, keep, segmented)
                        if segmented:
                            assert answer.total is not None
                            done = kept if keep and kept is not None else [(0, answer.start)]
                            size = await self._segments(
                                job, name, response, answer, file, done, on_progress, stop
                            )
                        else:
                            size = await self._receive(
                                response, answer, file, job, name, on_progress, stop
                            )
                    finally:
                        self._space.release(job.dest_dir)
                    break
                if not offset:
                    raise TransientTransferError(
                        f"The server at {job.url} sent a part of the file nobody asked for.",
                        code="bad_range",
                    )
                offset, kept, end, resuming = 0, None, None, False  # start over with a plain GET
        else:
            raise AssertionError("unreachable: the second request asks for no range")
        if answer.total is not None and size != answer.total:
            raise LengthMismatch(
                f"{job.url} announced {answer.total} bytes but {size} arrived; "
                "the partial file is kept for a retry.",
            )
        return _finish(job, name, size, answer, on_progress)

    async def _segments(
        self,
        job: EngineJob,
        name: str,
        response: aiohttp.ClientResponse,
        answer: Answer,
        file: BinaryIO,
        done: list[tuple[int, int]],
        on_progress: ProgressCallback,
        stop: StopSignal,
    ) -> int:
        """Fetch the rest of the file over several connections (:mod:`haul.engine.segmented`)."""
        assert answer.total is not None
        url = str(response.url)
        validator = answer.validator

        def open_range(
            at: str, start: int, end: int
        ) -> contextlib.AbstractAsyncContextManager[aiohttp.ClientResponse]:
            return self._open(at, start, validator, job.cookies, job.proxy, end=end)

        transfer = SegmentedTransfer(
            job=job,
            url=url,
            name=name,
            part=part_path(job.dest_dir / name),
            answer=answer,
            plan=Plan(answer.total, done, min_size=self._segmenting.min_size),
            first=response,
            first_file=file,
            open_range=open_range,
            writer=self._writer,
            space=self._space,
            slots=self._slots,
            host=urlsplit(url).netloc.lower(),
            connections=self._segmenting.connections_for(job),
            on_progress=on_progress,
            stop=stop,
            rejoin_after=self._segmenting.rejoin_after,
        )
        return await transfer.run()

    def _session_now(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=_MAX_CONNECTIONS, ssl=self._ssl)
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),  # see request_cookies
                headers=self._headers,
                timeout=self._timeout,
                read_bufsize=self._chunk_size,
            )
        return self._session

    @contextlib.asynccontextmanager
    async def _open(
        self,
        url: str,
        offset: int,
        validator: str | None,
        cookies: SiteCookies | None = None,
        proxy: str | None = None,
        *,
        end: int | None = None,
        ranged: bool = False,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """The response to a GET of ``url`` (from ``offset``, to ``end`` exclusive when
        given; ``ranged``: with a Range even from 0); aiohttp errors become haul's.
        With ``cookies``, every request (each redirect too) sends those of its own site;
        with ``proxy`` (a profile's), it goes through that proxy instead of the
        environment's."""
        headers = {}
        if offset or ranged or end is not None:
            last = "" if end is None else str(end - 1)
            headers["Range"] = f"bytes={offset}-{last}"
            if validator:
                headers["If-Range"] = validator
        options: dict[str, Any] = {}
        answered = False
        try:
            options = _proxy_options(proxy) if proxy else self._environment.proxy(url)
            policy = None if options else self._addresses  # through a proxy: the proxy's
            # This request's chain of redirects keeps the cookies its sites set; nothing is
            # kept past it, so no download sends what a site gave another.
            middlewares = [request_cookies(aiohttp.CookieJar(), cookies)]
            login = options.get("proxy_headers", {}).get("Proxy-Authorization")
            if login:  # a profile's proxy, or the environment's
                middlewares.append(proxy_login(login))
            options["middlewares"] = tuple(middlewares)
            async with contextlib.AsyncExitStack() as stack:
                # Connecting and following redirects are checked, not what the caller does
                # with the answer (an ``accept`` that hands the source to a download client).
                with guard.watch(policy, url):
                    request = self._session_now().get(url, headers=headers, **options)
                    response = await stack.enter_async_context(request)
                if response.status == 407 and options.get("proxy"):
                    # the proxy's answer to a plain http request, not the site's
                    raise proxy_answer(options["proxy"], 407, response.reason)
                answered = True
                yield response
        except (aiohttp.ClientError, TimeoutError) as exc:
            through = options.get("proxy")
            # Before the site's answer, through a proxy, what fails is the proxy: say so
            # (rather than blame the link or the site).
            failed = None if answered or not through else proxy_transport_error(exc, through, url)
            raise (failed or transport_error(exc, url)) from exc

    async def _receive(
        self,
        response: aiohttp.ClientResponse,
        answer: Answer,
        file: BinaryIO,
        job: EngineJob,
        name: str,
        on_progress: ProgressCallback,
        stop: StopSignal,
    ) -> int:
        """Stream the body into the part file; return the part's final size.

        Pieces arrive as the network delivers them (so stop checks and progress keep pace on
        slow links) and are written behind the loop (:mod:`haul.engine.writebehind`), handed
        over at each progress report at the latest. On every way out (stop, cancel, error)
        what arrived is written and the file closed before this returns. Network errors
        surface from the read and are translated by :meth:`_open`.
        """
        part = part_path(job.dest_dir / name)
        size = answer.start
        meter = RateMeter()
        try:
            sink = self._writer.sink(file)
            try:
                meter.update(size, answer.total)  # the baseline the first speed is measured from
                on_progress(Progress(size, answer.total, filename=name))
                next_report = time.monotonic() + PROGRESS_INTERVAL
                async for piece, _ in response.content.iter_chunks():
                    sink.write(piece)
                    size += len(piece)
                    if stop.is_set():
                        raise TransferStopped()
                    if job.throttle is not None:  # the speed limits (engine/bandwidth.py)
                        await job.throttle.take(len(piece))
                    if sink.behind():
                        await sink.settle()  # the disk is slower than the network
                    now = time.monotonic()
                    if now >= next_report:
                        next_report = now + PROGRESS_INTERVAL
                        sink.flush()
                        if answer.total is not None:
                            self._space.wrote(job.dest_dir, answer.total - size)
                        speed, eta = meter.update(size, answer.total)
                        on_progress(Progress(size, answer.total, speed, eta, filename=name))
            except BaseException:
                with contextlib.suppress(OSError):  # the first error is the one to report
                    await sink.drain()
                raise
            await sink.drain()
        except (aiohttp.ClientError, TimeoutError):
            raise  # a network error, not a disk one (both are OSErrors in aiohttp)
        except OSError as exc:
            error = disk_error(exc, part)
            if isinstance(error, DiskFull):
                partfile.give_back(part)
                if answer.total is not None:
                    error.needed = answer.total - partfile.size_of(part)
            raise error from exc
        return size


def request_cookies(jar: aiohttp.CookieJar, cookies: SiteCookies | None) -> ClientMiddlewareType:
    """An aiohttp middleware giving each request, redirects included, the cookies of its own
    URL: those the sites of this chain of requests set (kept in ``jar``, which lives as long
    as the request) and those of the owner's uploaded ``cookies``. A redirect to another site
    carries none of another site's. The engine's session keeps no cookies of its own: they
    would reach other people's downloads."""

    async def send(request: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
        parts = [
            f"{name}={morsel.value}" for name, morsel in jar.filter_cookies(request.url).items()
        ]
        uploaded = cookies.header(str(request.url)) if cookies else None
        if uploaded is not None:
            parts.append(uploaded)
        if parts:
            request.headers["Cookie"] = "; ".join(parts)
        response = await handler(request)
        jar.update_cookies(response.cookies, response.url)
        return response

    return send


def _wanted_name(job: EngineJob, response: aiohttp.ClientResponse) -> str:
    """The name a first attempt asks for (see the module docstring): a listing's title
    hinted (a feed's episode) comes first."""
    content_type = response.headers.get("content-type")
    derived = url_name(str(response.url))
    title = job.hints.get("title")
    if isinstance(title, str) and (after_title := titled(title, derived, content_type)):
        return after_title
    hinted = job.hints.get("filename")
    chosen = disposition_name(response.headers.get("content-disposition")) or (
        hinted if isinstance(hinted, str) else None
    )
    return named(chosen, derived, content_type)


def _prepare(
    job: EngineJob, name: str, claim: bool, answer: Answer, keep: bool, segmented: bool
) -> tuple[str, BinaryIO]:
    """The folder, the part (its name reserved first when ``claim``), opened where the answer
    starts, with the validator it is cut from. Returns the name and the file.

    ``keep``: the answer goes on with what the part holds (a resume). The ranges kept of a
    part fetched in ranges stay only when it goes on in ranges (``segmented``); a part going
    on over one connection is cut where that connection starts, so it holds its size."""
    try:
        job.dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise disk_error(exc, job.dest_dir) from exc
    if claim:
        name = partfile.claim(job.dest_dir, name)
    part = part_path(job.dest_dir / name)
    try:
        if not (keep and segmented) and partfile.ranges_path(part).exists():
            if keep:
                os.truncate(part, answer.start)
            partfile.drop_ranges(part)
        file = partfile.open_part(part, answer.start, 0, keep=keep)
    except OSError as exc:
        raise disk_error(exc, part) from exc
    if answer.start == 0 and answer.validator and not answer.encoded:
        partfile.store_validator(file.fileno(), answer.validator, answer.last_modified)
    partfile.store_total(file.fileno(), answer.total)
    return name, file


def _finish(
    job: EngineJob, name: str, size: int, answer: Answer | None, on_progress: ProgressCallback
) -> EngineResult:
    final = job.dest_dir / name
    part = part_path(final)
    try:
        partfile.drop_validator(part)
        partfile.drop_ranges(part)  # whole: a crash from here on finds it complete (416)
        part.replace(final)  # atomic within one filesystem
    except OSError as exc:
        raise disk_error(exc, final) from exc
    on_progress(Progress(size, size, eta=0.0, filename=name))
    content_type = answer.content_type if answer else job.hints.get("content_type")
    meta = {
        "filename": name,
        "content_type": content_type,
        "etag": answer.etag if answer else None,
        "size": size,
    }
    return EngineResult(files=(final,), title=Path(name).stem or name, meta=meta)


def _resume_point(
    part: Path | None,
) -> tuple[int, list[tuple[int, int]] | None, int | None]:
    """Where a resume of ``part`` starts, the ranges on disk kept for it (None: it holds its
    size, as a part fetched over one connection does), and where the first missing range
    ends (None: the resume asks for the rest of the file). Asking for that range only keeps
    a server from sending on into ranges the part holds."""
    if part is None:
        return 0, None, None
    stored = partfile.read_ranges(part)
    if stored is None:
        return partfile.size_of(part), None, None
    total, spans = stored
    done = merge(s for s in spans if 0 <= s[0] < s[1] <= total)
    if total <= 0:  # unreadable: nothing of the part can be trusted
        return 0, None, None
    missing = gaps(done, total)
    if not missing:
        return total, done, None  # whole: the server's 416 says so
    start, end = missing[0]
    return start, done, (end if end < total else None)


def _part_source(job: EngineJob, name: str | None) -> PartSource:
    """What the part of ``name`` was cut from: its extended attributes, else resolve's hints
    (which described the file when the download began)."""
    stored = partfile.read_source(part_path(job.dest_dir / name)) if name else PartSource()
    hints = job.hints
    etag, modified, size = hints.get("etag"), hints.get("last_modified"), hints.get("size")
    hinted = PartSource(
        validator=_text(etag) or _text(modified),
        last_modified=_text(modified),
        total=size if isinstance(size, int) else None,
    )
    return PartSource(
        stored.validator or hinted.validator,
        stored.last_modified or hinted.last_modified,
        stored.total if stored.total is not None else hinted.total,
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _restarting(job: EngineJob, name: str | None, why: str, on_progress: ProgressCallback) -> None:
    """Say (in the log and to the caller, as a notice) that the part is dropped and why."""
    notice = f"Starting again from the beginning: {why}."
    log.warning("%s: %s", job.url, notice)
    on_progress(Progress(0, None, filename=name, notice=notice))


@functools.cache
def _trusted_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def _proxy_options(proxy: str) -> dict[str, Any]:
    """aiohttp's options for a profile's proxy: its address, and its credentials apart
    (never in a URL aiohttp might put into an error message): on the CONNECT of an https
    request (``proxy_headers``); a plain http request carries them itself
    (:func:`proxy_login`)."""
    options: dict[str, Any] = {"proxy": without_credentials(proxy)}
    login = credentials(proxy)
    if login is not None:
        options["proxy_headers"] = {"Proxy-Authorization": _basic(*login)}
    return options


def proxy_login(header: str | None) -> ClientMiddlewareType:
    """An aiohttp middleware giving each plain http request of a chain (redirects included)
    the proxy's ``Proxy-Authorization``: such a request is sent to the proxy as it is. An
    https one never carries it: it goes through the tunnel to the site."""

    async def send(request: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
        if header is not None and request.url.scheme == "http":
            request.headers["Proxy-Authorization"] = header
        else:
            request.headers.pop("Proxy-Authorization", None)
        return await handler(request)

    return send


@dataclass(frozen=True, slots=True)
class _Environment:
    """The proxies of the environment and their ``~/.netrc`` credentials, read once (see the
    module docstring)."""

    proxies: Mapping[str, str] = field(default_factory=dict)  # scheme -> proxy URL
    credentials: netrc.netrc | None = None

    @classmethod
    def read(cls) -> _Environment:
        """Reads the environment variables and ``~/.netrc`` (a small file)."""
        proxies = {
            scheme: proxy
            for scheme, proxy in getproxies().items()
            if scheme in ("http", "https") and urlsplit(proxy).scheme == "http"
        }
        path = os.environ.get("NETRC") or Path("~/.netrc").expanduser()
        try:
            credentials = netrc.netrc(path)
        except (OSError, netrc.NetrcParseError):
            credentials = None  # none, unreadable or malformed: no credentials, as aiohttp
        return cls(proxies, credentials)

    def proxy(self, url: str) -> dict[str, Any]:
        """aiohttp's proxy options for ``url``: none for hosts in ``no_proxy``; the proxy's
        credentials from its URL, else from .netrc."""
        parts = urlsplit(url)
        proxy = self.proxies.get(parts.scheme)
        if proxy is None or (parts.hostname and proxy_bypass(parts.hostname)):
            return {}
        proxy_parts = urlsplit(proxy)
        address = proxy_parts.hostname or ""
        if proxy_parts.port is not None:
            address = f"{address}:{proxy_parts.port}"
        options: dict[str, Any] = {"proxy": proxy_parts._replace(netloc=address).geturl()}
        if proxy_parts.username is not None:
            login = unquote(proxy_parts.username), unquote(proxy_parts.password or "")
            credentials: str | None = _basic(*login)
        else:
            credentials = self._login(proxy_parts.hostname)
        if credentials is not None:
            options["proxy_headers"] = {"Proxy-Authorization": credentials}
        return options

    def _login(self, host: str | None) -> str | None:
        found = self.credentials.authenticators(host) if self.credentials and host else None
        if found is None:
            return None
        login, account, password = found
        return _basic(login or account or "", password or "")


def _basic(login: str, password: str) -> str:
    """HTTP Basic credentials (RFC 7617, UTF-8)."""
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode("ascii")
