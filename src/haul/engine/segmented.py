"""One big file over several connections at once (a segmented download).

A server that limits each connection (IPTV panels, file hosts, many mirrors) serves a file
faster to a client that asks for several ranges of it at once. The direct engine
(:mod:`haul.engine.http`) hands a file over here when its first answer shows it may: the
whole length is known and at least :attr:`Segmenting.threshold`, the body is the file's own
bytes (no content encoding), the server takes ranges (``Accept-Ranges: bytes``, or a 206),
and more than one connection is allowed (:meth:`Segmenting.connections_for`: the setting, a
site rule's ``connections``, and what the per-host cap leaves).

The first connection keeps streaming its answer; the others ask for ranges with ``If-Range``
(the first answer's validator), and every connection that runs out of work takes the back
half of the largest segment still running (:class:`haul.core.segments.Plan`). Each segment is
written at its place in the one ``.part`` by the engine's writer thread. The ranges on disk
are kept beside the part (:func:`haul.engine.partfile.store_ranges`) every second and when the
transfer ends in any way, so a pause, a failure or a killed process resumes with only the
missing ranges.

Verification. Each range's answer must be a 206 whose Content-Range is the range asked for and
whose length and validators are the first answer's; the file's size is its total at the end.
A server that breaks this (answers 200 to a range, sends another range, or another file) ends
the segmented transfer with :class:`RangesRefused`: the engine then goes on over one
connection, from what is verified (or from the start when the file changed), and says so.
A connection that fails (a reset, a refusal such as 503 or 429, often a panel's way of saying
"one connection only") gives its range back to the others and rests; only the last one left
retries, and its error ends the transfer (for a retry that resumes). A resting connection
tries again after :attr:`Segmenting.rejoin_after` seconds (twice that the second time), since
a server that was busy for a moment or limits how fast connections open often takes it later;
one that still refuses it after :data:`REJOINS` rests stops for good, so a server that allows
one connection costs a few refused requests, not one a minute. A rest ends early when no
other connection is left running (the file is done, or the last one failed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import aiohttp

from haul.core.segments import Plan, Segment, prefix
from haul.engine import partfile
from haul.engine.answer import Answer, PartSource, changed_since, classify, range_end
from haul.engine.base import (
    PROGRESS_INTERVAL,
    EngineJob,
    Progress,
    ProgressCallback,
    RateMeter,
    StopSignal,
)
from haul.engine.diskspace import DiskSpace
from haul.engine.http_errors import disk_error, transport_error
from haul.engine.writebehind import Sink, WriteBehind
from haul.errors import DiskFull, TransferError, TransferStopped, TransientTransferError

log = logging.getLogger(__name__)

SAVE_EVERY = 4  # progress callbacks between two saves of the ranges on disk (one second)
RETRIES = 3  # tries of the last connection left before its error ends the transfer
REJOINS = 2  # rests of a connection that failed while others ran, before it stops for good

#: Opens a GET of ``url`` for bytes ``start`` to ``end`` (exclusive) with ``If-Range``.
OpenRange = Callable[[str, int, int], AbstractAsyncContextManager[aiohttp.ClientResponse]]


@dataclass(frozen=True, slots=True)
class Segmenting:
    """When and how widely a direct file is fetched over several connections."""

    connections: int = 4  # at most, per download
    per_host: int = 4  # at most, per host, across the downloads of this process
    threshold: int = 16 << 20  # files smaller than this use one connection
    min_size: int = 1 << 20  # no segment is smaller than this
    rejoin_after: float = 15.0  # seconds a connection that failed rests before trying again

    def connections_for(self, job: EngineJob) -> int:
        """The connections ``job`` may use (its site rule's ``connections`` caps them)."""
        cap = job.connections if job.connections is not None else self.connections
        return max(1, min(self.connections, cap))

    def wanted(
        self, job: EngineJob, answer: Answer, headers: Mapping[str, str], status: int
    ) -> bool:
        """Whether the answer about to be streamed is worth more connections."""
        ranges = status == 206 or headers.get("accept-ranges", "").strip().lower() == "bytes"
        return (
            self.connections_for(job) > 1
            and answer.total is not None
            and answer.total - answer.start >= self.threshold
            and not answer.encoded
            and ranges
        )


class HostSlots:
    """The connections segmented transfers hold per host, across this process."""

    def __init__(self, per_host: int) -> None:
        self.per_host = per_host
        self._used: dict[str, int] = {}

    def acquire(self, host: str, *, always: bool = False) -> bool:
        """Take a slot for ``host`` when one is free (``always``: even when none is, for a
        transfer's first connection, which admission let in)."""
        used = self._used.get(host, 0)
        if used >= self.per_host and not always:
            return False
        self._used[host] = used + 1
        return True

    def release(self, host: str) -> None:
        left = self._used.get(host, 0) - 1
        if left > 0:
            self._used[host] = left
        else:
            self._used.pop(host, None)

    def used(self, host: str) -> int:
        return self._used.get(host, 0)


class RangesRefused(TransientTransferError):
    """The server does not serve ranges as it promised (private to the direct engine, which
    goes on over one connection)."""

    code = "bad_range"

    def __init__(self, message: str, *, changed: bool, kept: int = 0) -> None:
        super().__init__(message)
        #: Whether the file on the server changed (what is kept is then worthless).
        self.changed = changed
        #: How many bytes from the start the part holds unbroken (where one connection goes
        #: on), set when every connection has stopped.
        self.kept = kept
        #: The part the transfer wrote.
        self.part: Path | None = None


@dataclass
class SegmentedTransfer:
    """One segmented transfer: run it with :meth:`run` inside the first answer's request."""

    job: EngineJob
    url: str  # where the first answer came from (after redirects)
    name: str
    part: Path
    answer: Answer  # the first answer's, which every range must agree with
    plan: Plan
    first: aiohttp.ClientResponse  # streams from ``plan.first()``
    first_file: BinaryIO  # the part, opened where the first answer starts
    open_range: OpenRange
    writer: WriteBehind
    space: DiskSpace
    slots: HostSlots
    host: str
    connections: int
    on_progress: ProgressCallback
    stop: StopSignal
    _sinks: dict[Segment, Sink] = field(default_factory=dict)
    _alive: int = 0  # the connections running (not resting)
    _saving: asyncio.Future[None] | None = None  # the save of the ranges under way
    #: Set when no connection is running: the resting ones stop resting.
    _quiet: asyncio.Event = field(default_factory=asyncio.Event)
    rejoin_after: float = 15.0

    async def run(self) -> int:
        """Fetch every missing range; returns the file's size. The ranges on disk are kept
        on every way out."""
        total = self.plan.total
        self._save()  # before any byte lands past the unbroken start
        first = self.plan.first()
        assert first is not None and first.start == self.answer.start
        self.slots.acquire(self.host, always=True)
        extra = 0
        while extra < self.connections - 1 and self.slots.acquire(self.host):
            extra += 1
        workers = [asyncio.ensure_future(self._worker(first, self.first, self.first_file))]
        workers += [asyncio.ensure_future(self._worker(None, None, None)) for _ in range(extra)]
        self._alive = len(workers)
        reporter = asyncio.ensure_future(self._report())
        log.info("%s: %d bytes over %d connections", self.host, total, len(workers))
        self.on_progress(Progress(self.plan.fetched(), total, filename=self.name))
        try:
            await _first_error(workers)
        except BaseException as exc:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            if not self.first_file.closed:  # its connection was stopped before it began
                self.first_file.close()
            if isinstance(exc, RangesRefused):
                exc.part = self.part
                if not exc.changed:
                    exc.kept = prefix(self.plan.done_spans())
            if isinstance(exc, DiskFull):
                exc.needed = total - self.plan.fetched()
            raise
        finally:
            reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter
            if self._saving is not None:  # a save in its thread: never two at once
                await asyncio.gather(self._saving, return_exceptions=True)
            for _ in range(extra + 1):
                self.slots.release(self.host)
            if self.plan.complete:
                partfile.drop_ranges(self.part)
            else:
                with contextlib.suppress(TransferError):
                    self._save()
        if not self.plan.complete:
            raise TransientTransferError(
                f"{self.url}: the connections ended with ranges still missing; "
                "the partial file is kept for a retry.",
                code="connection_failed",
            )
        return total

    # -- one connection --------------------------------------------------------------------

    async def _worker(
        self,
        segment: Segment | None,
        response: aiohttp.ClientResponse | None,
        file: BinaryIO | None,
    ) -> None:
        failures = rests = 0
        try:
            while True:
                segment = segment or self.plan.take()
                if segment is None:
                    return
                try:
                    if response is not None and file is not None:
                        await self._stream(segment, response, file)
                        response.close()  # it ran on past the segment's end
                    else:
                        await self._fetch(segment)
                    failures = 0
                except TransferError as exc:
                    if isinstance(exc, RangesRefused | TransferStopped | DiskFull):
                        raise
                    failures += 1
                    if self._alive > 1:  # its range went back to the others
                        if rests >= REJOINS or not exc.transient:
                            log.info("%s: a connection stops: %s", self.host, exc)
                            return
                        rests += 1
                        await self._rest(self.rejoin_after * rests, exc)
                        failures = 0
                    elif failures >= RETRIES or not exc.transient:
                        raise
                    else:
                        await asyncio.sleep(0.5 * failures)
                segment, response, file = None, None, None
        finally:
            self._alive -= 1
            if self._alive == 0:
                self._quiet.set()

    async def _rest(self, seconds: float, why: TransferError) -> None:
        """Rest a connection that failed while others run, not counted as running; a rest
        ends early when none runs any more."""
        log.info("%s: a connection rests for %g s: %s", self.host, seconds, why)
        self._alive -= 1
        if self._alive == 0:
            self._quiet.set()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._quiet.wait(), seconds)
        finally:
            self._alive += 1

    async def _fetch(self, segment: Segment) -> None:
        """A new connection for ``segment``: ask for its range, check the answer, stream it."""
        try:
            start, end = segment.pos, segment.end  # a stealer may move the end meanwhile
            async with self.open_range(self.url, start, end) as response:
                self._verify(start, end, response)
                file = _open_at(self.part, segment.pos)
                await self._stream(segment, response, file)
        except BaseException:
            if segment in self.plan.active:
                self.plan.finish(segment, 0)
            raise

    def _verify(self, start: int, end: int, response: aiohttp.ClientResponse) -> None:
        """Raise :class:`RangesRefused` unless ``response`` is the range asked for of the
        file the first answer described."""
        headers = response.headers
        answer = classify(response.status, response.reason, headers, url=self.url, offset=1)
        if answer is None:  # 416, to a range that lies inside the file it described
            raise RangesRefused("the server refused a range of the file", changed=False)
        source = PartSource(self.answer.validator, self.answer.last_modified, self.answer.total)
        why = changed_since(source, answer)
        if why is not None:
            raise RangesRefused(f"the file changed on the server ({why})", changed=True)
        if response.status != 206:
            raise RangesRefused(
                "the server sent the whole file when asked for a range", changed=False
            )
        sent = range_end(headers)
        if answer.start != start or sent != end or answer.encoded:
            got = f"{answer.start}-{(sent or 0) - 1}"
            asked = f"{start}-{end - 1}"
            raise RangesRefused(
                f"the server sent bytes {got} when asked for {asked}", changed=False
            )

    async def _stream(
        self, segment: Segment, response: aiohttp.ClientResponse, file: BinaryIO
    ) -> None:
        """Write ``response``'s body at ``segment``'s place until its end (which a stealing
        connection may move closer meanwhile)."""
        throttle = self.job.throttle
        sink = self.writer.sink(file)
        self._sinks[segment] = sink
        try:
            try:
                async for piece, _ in response.content.iter_chunks():
                    wanted = self.plan.advance(segment, len(piece))
                    if wanted:
                        sink.write(piece if wanted == len(piece) else piece[:wanted])
                    if self.stop.is_set():
                        raise TransferStopped()
                    if throttle is not None:  # the speed limits hold for every connection
                        await throttle.take(wanted)
                    if sink.behind():
                        await sink.settle()
                    if segment.left == 0:
                        break
            except BaseException:
                with contextlib.suppress(OSError):
                    await sink.drain()
                raise
            await sink.drain()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise transport_error(exc, self.url) from exc
        except OSError as exc:
            raise disk_error(exc, self.part) from exc
        finally:
            self._sinks.pop(segment, None)
            if segment in self.plan.active:
                self.plan.finish(segment, sink.on_disk)
        if segment.left:
            raise _Short(f"{self.url} ended a range early, at byte {segment.pos}")

    # -- progress and the ranges on disk ---------------------------------------------------

    async def _report(self) -> None:
        meter = RateMeter()
        total = self.plan.total
        meter.update(self.plan.fetched(), total)
        ticks = 0
        while True:
            await asyncio.sleep(PROGRESS_INTERVAL)
            ticks += 1
            for sink in self._sinks.values():
                sink.flush()
            fetched = self.plan.fetched()
            self.space.wrote(self.job.dest_dir, total - fetched)
            speed, eta = meter.update(fetched, total)
            self.on_progress(Progress(fetched, total, speed, eta, filename=self.name))
            if ticks % SAVE_EVERY == 0:
                spans = self.plan.done_spans(self._written())
                saving = asyncio.to_thread(partfile.store_ranges, self.part, total, spans)
                self._saving = asyncio.ensure_future(saving)
                await asyncio.shield(self._saving)

    def _written(self) -> dict[Segment, int]:
        return {segment: sink.on_disk for segment, sink in self._sinks.items()}

    def _save(self) -> None:
        spans = self.plan.done_spans(self._written())
        partfile.store_ranges(self.part, self.plan.total, spans)


class _Short(TransientTransferError):
    """A range's answer ended before the range did (the connection closed cleanly)."""

    code = "short_body"


def _open_at(part: Path, offset: int) -> BinaryIO:
    file = os.fdopen(os.open(part, os.O_WRONLY), "wb", buffering=0)
    file.seek(offset)
    return file


async def _first_error(workers: Sequence[asyncio.Future[None]]) -> None:
    """Wait for every worker; raise the first error one of them ends with."""
    pending = set(workers)
    while pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
        for worker in done:
            if (error := worker.exception()) is not None:
                raise error
