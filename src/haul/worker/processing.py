"""After the transfer: probe every finished file, file it into the library, tell people.

The worker that records a download as finished (phase ``processing``) hands its id to its
:class:`Processor` at once; downloads a dead worker left half-processed are taken from the
store. Processing is one thread trip per download (the probe reads headers only: a few
milliseconds a file, see :mod:`haul.media.probe`; a copy into the library may take longer) and
one transaction, after which the download is ``completed`` and the notifications go out.

A download that belongs to a media item is imported: its files are placed at their library
path (:mod:`haul.media.library`, :mod:`haul.media.placing`) and its file list follows them.
A failed import never fails the download: the files stay where they are and the download says
why in its error and history.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from haul.core.media_items import Subject
from haul.core.paths import entry_root, inside
from haul.engine.nfo import MAX_NFO, for_item
from haul.errors import HaulError
from haul.media.library import Found, Plan, plan
from haul.media.naming import Templates
from haul.media.placing import Placed, place, side_target
from haul.media.probe import ProbeResult, probe_file
from haul.notify import DownloadSummary, download_summary
from haul.store.models import utcnow
from haul.store.processing import Finished, Job, ProcessingStore

log = logging.getLogger(__name__)

#: Downloads processed in one pass (and written in one transaction each).
BATCH = 20


class Probe(Protocol):
    """Reads a finished file (:func:`haul.media.probe.probe_file`, or the server's
    :class:`haul.media.prober.Prober`, which runs FFmpeg in a child process)."""

    def __call__(self, path: Path, *, profile: str | None = None) -> ProbeResult: ...


class Notifier(Protocol):
    def emit(self, kind: str, owner_key: str, download: DownloadSummary) -> None: ...


@dataclass(frozen=True, slots=True)
class LibraryConfig:
    downloads_root: Path
    library_root: Path
    templates: Templates = field(default_factory=Templates)


#: A history entry to write: kind, message, data.
Event = tuple[str, str | None, dict[str, Any]]


@dataclass(slots=True)
class _Work:
    """What the thread part of processing produced for one download."""

    files: list[dict[str, Any]]
    records: list[dict[str, Any]]
    events: list[Event]
    imported: list[Placed]
    error: tuple[str, str] | None = None


class Processor:
    def __init__(
        self,
        store: ProcessingStore,
        config: LibraryConfig,
        *,
        worker_id: str,
        published: Callable[[Sequence[int]], Awaitable[None]],
        notifier: Notifier | None = None,
        poll_interval: float = 5.0,
        probe: Probe = probe_file,
        wakeup: asyncio.Event | None = None,
    ) -> None:
        """``worker_id``: the worker whose leases this processing holds. ``wakeup``: the event
        :meth:`wake` sets (the library can be given its ``set`` before this step is made)."""
        self.store = store
        self.probe = probe
        self.config = config
        self.worker_id = worker_id
        self.published = published
        self.notifier = notifier
        self.poll_interval = poll_interval
        self._mine: set[int] = set()
        self._wake = wakeup if wakeup is not None else asyncio.Event()

    def wake(self) -> None:
        """Something may wait to be processed (a finished download attached to an item)."""
        self._wake.set()

    def enqueue(self, download_id: int) -> None:
        """A download this worker just recorded as finished (it holds its lease)."""
        self._mine.add(download_id)
        self._wake.set()

    async def run(self, running: Callable[[], bool]) -> None:
        while running():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
            self._wake.clear()
            try:
                await self.process_pending()
            except Exception:
                log.exception("processing pass failed")

    async def process_pending(self) -> int:
        """Process what this worker holds, then what dead workers left; returns how many."""
        done = 0
        while self._mine:
            ids = sorted(self._mine)[:BATCH]
            self._mine.difference_update(ids)
            done += await self.process(ids)
        worker = self.worker_id
        orphans = await self.store.waiting(BATCH)
        if orphans:
            taken = await self.store.take(orphans, worker)
            done += await self.process(taken)
        return done

    async def process(self, ids: Sequence[int]) -> int:
        """Process ``ids`` together: one read, one thread trip for every probe and import, one
        transaction, one read to tell subscribers (per download, each of these cost as much
        as the whole batch)."""
        if not ids:
            return 0
        worker = self.worker_id
        jobs = await self.store.jobs(ids, worker)
        if not jobs:
            return 0
        works = await asyncio.to_thread(lambda: [self._work_safely(job) for job in jobs])
        pairs = list(zip(jobs, works, strict=True))
        finished = [self._finished(job, work, worker) for job, work in pairs]
        written = await self.store.finish(finished)
        done = [pair for pair, ok in zip(pairs, written, strict=True) if ok]
        await self.published([job.id for job, _ in done])
        if self.notifier is not None:
            for job, work in done:
                code, message = work.error or (job.error_code, job.error_message)
                summary = _summary(job, work, code, message)
                self.notifier.emit("completed", job.owner_key, summary)
                if work.imported:
                    self.notifier.emit("imported", job.owner_key, summary)
        return len(done)

    @staticmethod
    def _finished(job: Job, work: _Work, worker: str) -> Finished:
        code, message = work.error or (job.error_code, job.error_message)
        return Finished(job.id, worker, work.files, work.records, work.events, code, message)

    # -- in a thread ----------------------------------------------------------------------

    def _work_safely(self, job: Job) -> _Work:
        try:
            return self._work(job)
        except Exception:
            log.exception("download %s: processing failed", job.id)
            return _Work(job.files, [], [], [], ("processing_failed", "Processing failed."))

    def _probe(
        self, download_id: int, files: list[dict[str, Any]], profile: str | None
    ) -> tuple[list[ProbeResult | None], Event]:
        """Probe each recorded file (None: gone from disk), and the event saying so."""
        results: list[ProbeResult | None] = []
        roots = (self.config.downloads_root, self.config.library_root)
        for entry in files:
            path = _absolute(entry, *roots)
            if not any(inside(path, root) for root in roots):
                # a client reported it (its save path, or a name it was given): haul opens,
                # imports and serves only what lies in its own folders
                log.warning(
                    "download %s: not probing %s: outside haul's folders", download_id, path
                )
                results.append(None)
                continue
            try:
                results.append(self.probe(path, profile=profile))
            except HaulError as exc:  # the file is gone
                log.info("download %s: %s", download_id, exc.message)
                results.append(None)
        media = sum(1 for r in results if r is not None and r.is_media)
        return results, ("probed", f"{media} of {len(files)} files are media", {"media": media})

    def probe_only(
        self, download_id: int, files: list[dict[str, Any]], profile: str | None
    ) -> tuple[list[dict[str, Any]], list[Event]]:
        """Blocking: the file records and history of a download no import waits for (the
        built-in engine writes them with its completion, in the same transaction)."""
        results, event = self._probe(download_id, files, profile)
        records = [_record(r, None, None, self.config) for r in results if r is not None]
        return records, [event]

    def _work(self, job: Job) -> _Work:
        results, event = self._probe(job.id, job.files, job.profile)
        found = [r for r in results if r is not None]
        work = _Work([dict(e) for e in job.files], [], [event], [])
        placed: dict[Path, Placed] = {}
        if job.subject is not None:
            placed = self._import(job, found, work)
        for entry, result in zip(work.files, results, strict=True):
            if result is None:
                continue
            moved = placed.get(result.path)
            if moved is not None:
                entry["path"] = str(moved.target.relative_to(self.config.library_root.resolve()))
                entry["root"] = "library"
                entry["name"] = moved.target.name
            work.records.append(_record(result, job.media_id, moved, self.config))
        return work

    def _import(self, job: Job, found: list[ProbeResult], work: _Work) -> dict[Path, Placed]:
        assert job.subject is not None
        candidates = [
            Found(r.path, r.size, r.is_media, r.video_codec is not None and r.width is not None)
            for r in found
        ]
        try:
            wanted: Plan = plan(job.subject, candidates, self.config.templates)
        except HaulError as exc:
            work.error = ("import_failed", f"Not imported: {exc.message}")
            work.events.append(("import_failed", exc.message, {}))
            return {}
        library = self.config.library_root
        placed: dict[Path, Placed] = {}
        sides = [item.ending for item in wanted.files if item.role in ("subtitle", "side")]
        main: Placed | None = None  # where the main file went: its side files follow its name
        for item in wanted.files:
            if item.role in ("subtitle", "side"):
                if main is None:
                    continue  # the main file stayed in the download folder: so do they
                target = side_target(main.target, item.ending)
            else:
                target = library / item.target
            try:
                result = place(
                    item.source,
                    target,
                    root=library,
                    keep_source=job.client_held,
                    sides=sides if item.role == "main" else (),
                    # beside a main file found already there, its side files take the names
                    # of the ones there: the same video's, newer
                    replace=main is not None and main.mode == "existing",
                )
            except (OSError, HaulError) as exc:
                reason = exc.message if isinstance(exc, HaulError) else _os_reason(exc)
                work.error = ("import_failed", f"Not imported: {reason}")
                work.events.append(("import_failed", reason, {"file": item.source.name}))
                continue
            if item.role == "main":
                main = result
            placed[item.source] = result
            work.imported.append(result)
            if item.role == "side" and result.target.name.lower().endswith(".nfo"):
                _name_item(result.target, job.subject)
        if placed:
            targets = [str(p.target.relative_to(library.resolve())) for p in placed.values()]
            modes = sorted({p.mode for p in placed.values()})
            message = f"filed {len(placed)} file(s) into the library ({', '.join(modes)})"
            work.events.append(("imported", message, {"paths": targets, "modes": modes}))
        for note in wanted.notes:
            work.events.append(("import_note", note, {}))
        return placed


def _name_item(path: Path, subject: Subject) -> None:
    """Blocking: the NFO filed at ``path`` names the library item it was filed for (its title
    and year, an episode's series and numbers) instead of the page it came from; its other
    fields stay. Written under a temporary name and renamed into place, so a hardlink to the
    download's own copy is left as it was."""
    try:
        if path.stat().st_size > MAX_NFO:
            return
        data = path.read_bytes()
    except OSError as exc:
        log.info("NFO %s not renamed for its library item: %s", path, exc)
        return
    episode = subject.kind == "episode"
    named = for_item(
        data,
        subject.title,
        subject.year if subject.year is not None or not episode else subject.parent_year,
        series=(subject.parent_title or "") if episode else None,
        season=subject.season if episode else None,
        episode=subject.episode if episode else None,
    )
    if named is None or named == data:
        return
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.haul-part")
    try:
        temp.write_bytes(named)
        temp.replace(path)
    except OSError as exc:
        log.info("NFO %s not renamed for its library item: %s", path, exc)
        temp.unlink(missing_ok=True)


def _absolute(entry: dict[str, Any], downloads: Path, library: Path) -> Path:
    path = Path(str(entry.get("path", "")))
    if path.is_absolute():
        return path
    return entry_root(entry, downloads, library) / path


def _os_reason(exc: OSError) -> str:
    what = (exc.strerror or str(exc)).lower()
    return f"{what}: {exc.filename}" if exc.filename else what


def _record(
    result: ProbeResult, media_id: int | None, moved: Placed | None, config: LibraryConfig
) -> dict[str, Any]:
    path = moved.target if moved is not None else result.path
    return {
        "media_id": media_id,
        "path": _stored_path(path, config),
        "file_name": path.name,
        "size": result.size,
        "mtime": result.mtime,
        "is_media": result.is_media,
        "error": result.error,
        "container": result.container,
        "duration": result.duration,
        "video_codec": result.video_codec,
        "width": result.width,
        "height": result.height,
        "audio_codec": result.audio_codec,
        "audio_channels": result.channels,
        "subtitle_languages": list(result.subtitle_languages),
        "profile": result.profile,
        "youtube_id": result.youtube_id,
        "file_exists": True,
        "original_path": _stored_path(result.path, config) if moved is not None else None,
        "import_mode": moved.mode if moved is not None else None,
        "imported_at": utcnow() if moved is not None else None,
    }


def _stored_path(path: Path, config: LibraryConfig) -> str:
    """Relative to the downloads folder when inside it, else absolute (the library)."""
    root = config.downloads_root
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _summary(job: Job, work: _Work, code: str | None, message: str | None) -> DownloadSummary:
    return download_summary(
        id=job.id,
        url=job.source_url,
        status="completed",
        owner=job.owner_key,
        title=job.title,
        error_code=code,
        error_message=message,
        client=job.client,
        media_id=job.media_id,
        files=work.files,
        library_paths=[str(p.target) for p in work.imported],
    )
