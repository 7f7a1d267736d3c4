"""Writing the pieces of part files in a thread, so the event loop only receives.

Ten transfers at full speed keep the event loop thread busy with receiving, and writing each
network read into the page cache from that same thread took about a quarter of its time
(py-spy, 200 files of 5 MB at 10 at once): time every other transfer and every state change
waited for. A write releases the GIL, so one writer thread moves those copies to another core.

The loop hands a piece over without waiting (:meth:`Sink.write`: no future, no wake-up per
piece) and waits only to let the queue of a file shrink below a bound, and at the end for
everything to be on disk (:meth:`Sink.drain`). Small pieces (a slow link) are gathered into one
write. Pieces of a file are written in order (one thread, one queue). A failed write is kept
and raised on the loop by the next :meth:`Sink.write` or :meth:`Sink.drain`; later pieces of
that file are dropped. The file is closed by the thread after its last piece.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
from typing import BinaryIO

_GATHER = 64 << 10  # smaller pieces are gathered up to this into one write
_QUEUED_MAX = 4 << 20  # a transfer waits while more of its bytes than this wait for the disk
#: ... or more than its share of this, shared by the files being written: fifty transfers over
#: a slow disk would otherwise hold 200 MiB (a server measured 192 MiB). Ten keep 4 MiB each.
_TOTAL_MAX = 48 << 20


class WriteBehind:
    """The writer thread of one engine (started on first use, stopped by :meth:`close`, and
    started again if used after that)."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[Sink, bytes | None] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        #: Files taken over and not closed yet (used on the loop only).
        self.open_files = 0

    def sink(self, file: BinaryIO) -> Sink:
        """Take ``file`` (positioned where the next byte goes) over; the thread closes it."""
        return Sink(self, file, asyncio.get_running_loop())

    def share(self) -> int:
        """How many bytes of one file may wait for the disk, with the files open now."""
        return min(_QUEUED_MAX, _TOTAL_MAX // max(1, self.open_files))

    def close(self) -> None:
        """Stop the thread once what is queued is written (blocks until then)."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def _put(self, sink: Sink, data: bytes | None) -> None:
        if self._thread is None:  # the first piece, or one after close(): (re)start it
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="haul-part-writer", daemon=True
                    )
                    self._thread.start()
        self._queue.put((sink, data))

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            sink, data = item
            if data is None:
                sink.closed()
            else:
                sink.written(data)


class Sink:
    """One part file being written behind the loop; used from the loop, written by the thread."""

    def __init__(self, owner: WriteBehind, file: BinaryIO, loop: asyncio.AbstractEventLoop):
        self._owner = owner
        self._file = file
        self._fd = file.fileno()
        self._loop = loop
        self._gathered = bytearray()
        self._lock = threading.Lock()
        self._queued = 0  # bytes handed to the thread and not written yet
        #: Bytes the thread has written to the file (a kept range may count up to here).
        self.on_disk = 0
        self._error: OSError | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._waiting_for = 0
        self._closing = False
        owner.open_files += 1

    # -- the loop's side --------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Queue ``data``; raises the error of an earlier write of this file, if any."""
        self._raise_error()
        if self._gathered or len(data) < _GATHER:
            self._gathered += data
            if len(self._gathered) < _GATHER:
                return
            data, self._gathered = bytes(self._gathered), bytearray()
        self._hand_over(data)

    def flush(self) -> None:
        """Hand what is gathered to the thread (at a progress report: the part on disk stays
        within one report of what arrived)."""
        if self._gathered:
            data, self._gathered = bytes(self._gathered), bytearray()
            self._hand_over(data)

    def behind(self) -> bool:
        """Whether the thread is so far behind this file (a slow disk) that the transfer
        should :meth:`settle` before it reads on."""
        return self._queued > self._owner.share()

    async def settle(self) -> None:
        """Wait until the thread has caught up with half of what it is behind."""
        await self._until(self._owner.share() // 2)
        self._raise_error()

    async def drain(self) -> None:
        """Write everything and close the file; raises the first failed write's error.

        A cancellation waits for the file to be closed before it is raised: when this
        returns, however, nothing writes to the file any more (a resume may open it)."""
        if not self._closing:
            self.flush()
            self._closing = True
            self._owner.open_files -= 1
            self._owner._put(self, None)
        closed = asyncio.ensure_future(self._until(-1))
        cancelled = False
        while not closed.done():
            try:
                await asyncio.shield(closed)
            except asyncio.CancelledError:
                cancelled = True
        if cancelled:
            raise asyncio.CancelledError
        self._raise_error()

    def _hand_over(self, data: bytes) -> None:
        with self._lock:
            self._queued += len(data)
        self._owner._put(self, data)

    async def _until(self, queued: int) -> None:
        """Wait until no more than ``queued`` bytes are queued (-1: until the file is closed)."""
        with self._lock:
            if self._done(queued):
                return
            self._waiter = self._loop.create_future()
            self._waiting_for = queued
        await self._waiter

    def _done(self, queued: int) -> bool:
        return self._file.closed if queued < 0 else self._queued <= queued

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    # -- the thread's side ------------------------------------------------------------------

    def written(self, data: bytes) -> None:
        if self._error is None:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(self._fd, view) :]
            except OSError as exc:
                self._error = exc
        with self._lock:
            self._queued -= len(data)
            if self._error is None:
                self.on_disk += len(data)
            self._wake()

    def closed(self) -> None:
        try:
            self._file.close()
        except OSError as exc:
            self._error = self._error or exc
        with self._lock:
            self._wake()

    def _wake(self) -> None:
        """(With the lock held.) Resolve the loop's waiter if its condition holds now."""
        waiter = self._waiter
        if waiter is not None and self._done(self._waiting_for):
            self._waiter = None
            self._loop.call_soon_threadsafe(_resolve, waiter)


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
