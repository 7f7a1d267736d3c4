"""The built-in client: haul's own workers running the HTTP and yt-dlp engines.

Its durable job store is the downloads table (admitted, leased by worker W); its live state
is a read-only view of :class:`~haul.engine.live.LiveJobs`, the registry the worker of this
process keeps. A job this process does not run is waiting for a worker, or paused: its bytes
so far are what lies in its work folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import Collection
from pathlib import Path

from haul.clients.base import AddRequest, ClientHealth
from haul.core.client_items import ClientItem
from haul.core.paths import inside
from haul.core.status import Status
from haul.engine import filing, partfile
from haul.engine.filenames import PART_SUFFIX
from haul.engine.live import LiveJob, LiveJobs
from haul.errors import ClientItemNotFound
from haul.events.bus import Event

WORK_FOLDER = ".haul-work"


class BuiltinClient:
    name = "builtin"
    kind = "builtin"

    def __init__(
        self, root: Path, live: LiveJobs | None = None, *, stall_warning: float = 60.0
    ) -> None:
        self.root = root
        self.stall_warning = stall_warning
        self.work_root = root / WORK_FOLDER
        self._live = live if live is not None else LiveJobs()
        #: Jobs other processes run, as their progress events describe them: (item, when).
        self.remote: dict[int, tuple[ClientItem, float]] = {}
        self.remote_ttl = 10.0

    def work_dir(self, download_id: int) -> Path:
        return self.work_root / str(download_id)

    async def add(self, request: AddRequest) -> str:
        return str(request.download_id)

    async def items(self, refs: Collection[str] | None = None) -> dict[str, ClientItem]:
        wanted = refs if refs is not None else [str(i) for i in self._live.ids()]
        found: dict[str, ClientItem] = {}
        for ref in wanted:
            job = self._live.get(int(ref)) if ref.isdigit() else None
            if job is not None:
                found[ref] = self._live_item(ref, job)
            else:
                found[ref] = self._remote_item(ref) or self._waiting_item(ref)
        return found

    def _remote_item(self, ref: str) -> ClientItem | None:
        entry = self.remote.get(int(ref)) if ref.isdigit() else None
        if entry is None:
            return None
        item, seen = entry
        if time.monotonic() - seen > self.remote_ttl:
            del self.remote[int(ref)]
            return None
        return item

    def observe(self, event: Event) -> None:
        """Learn the live state of jobs other workers run from their events."""
        if event.download_id in self._live:
            return
        if event.type == "progress":
            d = event.data
            item = ClientItem(
                str(event.download_id),
                Status(d.get("status", Status.DOWNLOADING)),
                downloaded_bytes=int(d.get("downloaded_bytes") or 0),
                total_bytes=d.get("total_bytes"),
                speed=d.get("speed"),
                eta=d.get("eta"),
                message=d.get("message"),
                live=bool(d.get("live")),
                recorded_seconds=d.get("recorded_seconds"),
            )
            self.remote[event.download_id] = (item, time.monotonic())
        elif event.type in ("status", "removed"):
            status = (event.data.get("download") or {}).get("status")
            if status not in (Status.DOWNLOADING, Status.RESOLVING):
                self.remote.pop(event.download_id, None)

    def _live_item(self, ref: str, job: LiveJob) -> ClientItem:
        p = job.progress
        return ClientItem(
            ref,
            job.status,
            name=job.title or (p.filename if p else None),
            downloaded_bytes=p.downloaded_bytes if p else 0,
            total_bytes=p.total_bytes if p else None,
            speed=p.speed if p else None,
            eta=p.eta if p else None,
            message=self.stall_message(job),
            live=p.live if p else False,
            recorded_seconds=p.recorded_seconds if p else None,
        )

    def stall_message(self, job: LiveJob) -> str | None:
        idle = job.idle_for()
        if job.status in (Status.DOWNLOADING, Status.RESOLVING) and idle >= self.stall_warning:
            return f"Stalled: no data received for {idle:.0f} s."
        return None

    def _waiting_item(self, ref: str) -> ClientItem:
        """A job no worker runs now (waiting, or paused): the bytes in its work folder, and out
        of how many when a direct download's part says (see haul.engine.partfile)."""
        folder = self.work_dir(int(ref)) if ref.isdigit() else None
        sizes: dict[Path, int] = {}
        with contextlib.suppress(OSError):  # no folder yet, or one being emptied meanwhile
            for entry in folder.iterdir() if folder is not None else ():
                with contextlib.suppress(OSError):
                    if entry.is_file() and not partfile.is_ranges_file(entry.name):
                        sizes[entry] = entry.stat().st_size
        parts = [f for f in sizes if f.name.endswith(PART_SUFFIX)]
        for part in parts:  # one fetched in ranges has holes: count what it holds
            sizes[part] = partfile.held(part, sizes[part])
        size = sum(sizes.values())
        whole = partfile.read_total(parts[0]) if len(parts) == 1 else None
        total = None if whole is None else size - sizes[parts[0]] + whole
        return ClientItem(ref, Status.QUEUED, downloaded_bytes=size, total_bytes=total)

    async def wait_stopped(self, job: LiveJob, timeout: float = 5.0) -> None:
        if job.task is not None and not job.task.done():
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(job.task), timeout)

    async def pause(self, ref: str) -> None:
        job = self._live.stop(_download_id(ref), "pause")
        if job is not None:
            await self.wait_stopped(job)

    def finish(self, ref: str) -> None:
        """End a live recording this process runs, keeping what it recorded (its worker
        finishes it: the caller does not wait for that)."""
        self._live.stop(_download_id(ref), "finish")

    async def resume(self, ref: str) -> None:
        """Nothing to do here: a resumed job is queued again and a worker claims it."""

    async def remove(self, ref: str, *, delete_data: bool) -> None:
        download_id = _download_id(ref)
        job = self._live.stop(download_id, "cancel")
        if job is not None:
            await self.wait_stopped(job)
        if delete_data:
            self.delete_partial(download_id)

    def delete_partial(self, download_id: int) -> bool:
        """Delete a job's partial data (its work folder, and files it finished but could not
        record yet: see :mod:`haul.engine.filing`), only ever inside the download root."""
        folder = self.work_dir(download_id)
        note = filing.read(folder)
        for path in filing.filed_files(note, self.work_root, self.root) if note else ():
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
        try:
            folder.rmdir()  # the common case, after a completion: empty (a link is no folder)
            return True
        except OSError:
            pass
        if not folder.exists() or not inside(folder, self.work_root):
            return False
        shutil.rmtree(folder, ignore_errors=True)
        return True

    async def health(self) -> ClientHealth:
        return ClientHealth(True, version="builtin")


def _download_id(ref: str) -> int:
    """The download a built-in ref names (its id), as the other clients check their refs."""
    if not ref.isdigit():
        raise ClientItemNotFound(f"haul's built-in client holds no item {ref!r}", ref=ref)
    return int(ref)
