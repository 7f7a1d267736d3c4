"""Running one built-in job: find out what the source is, move the bytes, file the result.

The claim that handed the job to this worker also recorded its start (``started`` or
``resumed``, see :func:`haul.store.downloads.claim`), so every other database write here is
how the job ends (completed, expanded, failed, retry scheduled, paused); progress stays in
memory (:class:`~haul.engine.live.LiveJob`). What the source turned out to be
(``meta["resolved"]``) is written with that end, so a later attempt need not ask again.

A source whose URL does not tell what it is (:func:`~haul.engine.resolve.from_url`) is
fetched by the HTTP engine straight away: the answer's headers tell a file (streamed at once),
a torrent (handed to a torrent client) or a page or manifest (closed unread and given to
yt-dlp). A direct file costs one request, not a probe and then a GET. Finished files are
moved out of the job's work folder into the download root under a free name, noted first, so a
job that finished before a crash is recorded, not fetched again (:mod:`haul.engine.filing`).

An HLS manifest (or a page whose stream yt-dlp finds live) whose media playlist has no end is
a live stream: it is recorded by :class:`~haul.engine.hls.LiveRecorder` (``resolved`` kind
``live``, kept on the row as soon as the recording starts, so the user can stop it) until it
ends or the user stops it (stop reason ``finish``), and completed with what was recorded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from haul.core.cookies import SiteCookies
from haul.core.owners import is_anonymous
from haul.core.sites import rule_for, site_of
from haul.core.status import Status
from haul.engine.base import EngineJob, EngineResult, Profile
from haul.engine.filenames import PART_SUFFIX
from haul.engine.hls import stem
from haul.engine.live import LiveJob
from haul.engine.resolve import Resolution, from_answer, from_page, from_url, media_type
from haul.engine.stopwatch import until_stopped
from haul.engine.ytdlp_network import network_params
from haul.errors import (
    DiskFull,
    PermanentTransferError,
    PlaylistRefused,
    StorageError,
    TransferError,
    TransferStopped,
)
from haul.logsetup import current_download
from haul.net import guard
from haul.store.jobs import Learned, Successor
from haul.store.models import Download
from haul.worker.context import Handoff, JobContext, storable
from haul.worker.outcomes import Outcomes
from haul.worker.playlists import expand

log = logging.getLogger(__name__)

T = TypeVar("T")

#: The history message of each way a live recording ends (``ended_by`` of its result).
ENDINGS = {
    "user": "The recording was stopped by hand.",
    "max_duration": "The recording reached its maximum length.",
    "stream_ended": "The stream ended.",
    "stream_quiet": "The stream went quiet (it stopped answering or adding segments).",
}


class JobRunner:
    """Runs claimed jobs with what ``ctx`` holds.

    ``outcomes`` records how jobs end (made from ``ctx`` when not given: the external clients
    record a failed hand-over with the same :class:`Outcomes`, so they can be made before the
    runner and take it). ``handoff`` offers a resolved source to the external clients (None:
    every source stays with the built-in engine).
    """

    def __init__(
        self, ctx: JobContext, *, outcomes: Outcomes | None = None, handoff: Handoff | None = None
    ) -> None:
        self.ctx = ctx
        self.outcomes = outcomes if outcomes is not None else Outcomes(ctx)
        self.handoff = handoff

    async def run(
        self, row: Download, job: LiveJob, successor: Successor[T] | None = None
    ) -> T | None:
        """Run a claimed job to its next resting state; never raises.

        When the job completes, ``successor`` goes with the write that records it (the worker
        admits, leases and starts the next jobs there: a finished download's slot is refilled
        in the same write) and what it returned in the transaction is returned here. None when
        the job ended any other way (``successor`` did not run).
        """
        current_download.set(row.id)
        throttle = None
        if self.ctx.budgets is not None:
            throttle = self.ctx.budgets.throttle(row.id, row.owner_key, row.speed_limit)
            job.throttle = throttle
        # Subscribers hear of the start while the transfer gets going (telling them takes a
        # few turns of the loop), and before they hear of the end.
        started = asyncio.ensure_future(self.ctx.publish(row))
        try:
            return await self._run(row, job, successor, started)
        except TransferStopped:
            await _told(started)
            await self._ended(row, self.outcomes.stopped(row, job))
        except DiskFull as exc:
            await _told(started)
            await self._ended(row, self.outcomes.waiting_for_space(row, exc))
        except TransferError as exc:
            await _told(started)
            await self._ended(row, self.outcomes.failed(row, exc))
        except asyncio.CancelledError:
            await asyncio.shield(self._ended(row, self.outcomes.released(row)))
            raise
        except StorageError as exc:
            # The database failed, not the download: the job is given back with the next
            # heartbeat and taken up again (what it finished is noted: not fetched again).
            log.warning("download %s: the database failed (%s); giving it back", row.id, exc)
            await _told(started)
            self.ctx.live.drop(row.id)
        except Exception as exc:
            log.exception("download %s: unexpected error", row.id)
            await _told(started)
            failure = PermanentTransferError(f"Internal error: {exc}", code="internal")
            await self._ended(row, self.outcomes.failed(row, failure))
        finally:
            if throttle is not None:
                throttle.close()
            self.ctx.live.end(row.id)
        return None

    async def _ended(self, row: Download, write: Awaitable[None]) -> None:
        """Record how a job ended; when that write fails, the job is dropped all the same and
        its lease goes back with the worker's next heartbeat (see ``LiveJobs.drop``),
        so that no worker keeps a lease on a job it no longer runs."""
        try:
            await write
        except Exception:
            log.exception("download %s: its end was not recorded; giving its lease back", row.id)
            self.ctx.live.drop(row.id)

    async def _run(
        self,
        row: Download,
        job: LiveJob,
        successor: Successor[T] | None,
        started: asyncio.Future[None],
    ) -> T | None:
        # The row was read (and marked started) in the claiming transaction: it is current; a
        # pause or cancel that comes later reaches the job through its stop signal.
        self._check_stop(job)
        filed = await self.outcomes.refiled(row)
        if filed is not None:  # an earlier attempt finished it: record it, never fetch again
            job.status = Status.PROCESSING
            await _told(started)
            return await self.outcomes.record(row, filed, successor, job.stop)
        sleep = await self._pace(row, job)
        if row.iptv_kind is not None:
            return await self._iptv(row, job, successor, started)
        resolved: dict[str, Any] | None = row.meta.get("resolved")
        if resolved is None and row.playlist_index is not None:
            # An entry of a playlist already resolved: yt-dlp takes it by its index.
            resolved = {"kind": "media", "url": row.source_url, "title": row.title}
        if resolved is None:
            static = from_url(row.source_url)
            resolved = _resolution_dict(static) if static is not None else None
        # What is found out now is offered to the external clients (a direct file inside the
        # probe, before its body); so is a torrent, always. A page or a file known from an
        # earlier attempt is the built-in engine's already. A direct file whose profile asks
        # for yt-dlp's post-processors (audio only, embedding...) is yt-dlp's, not the HTTP
        # engine's nor an external client's; so is one the download chose a format for.
        profile = await self.ctx.profiles(row.profile_id)
        if profile.unusable:  # its proxy cannot be opened here: never go without it
            raise PermanentTransferError(profile.unusable, code="profile_unusable")
        profile = profile.chosen(row.format, row.audio_format, row.audio_quality)
        # A format chosen for the download is yt-dlp's to pick, even among a file's.
        plain = not profile.post_processed and row.format is None
        # Read once for the attempt: the probe, the page and yt-dlp all send them.
        known_torrent = resolved is not None and resolved["kind"] == "torrent"
        cookies = None if known_torrent else await self._cookies(row)
        offer = resolved is None or resolved["kind"] == "torrent"
        extracted: Mapping[str, Any] | None = None  # a page this attempt's extraction read
        if resolved is None or (resolved["kind"] == "file" and plain):
            probe = _Probe(
                row, lambda resolved: self._offer_file(row, resolved, started, cookies), plain
            )
            result = await self._direct(
                row, resolved, job, probe, cookies, proxy=profile.proxy, sleep=sleep
            )
            if result is not None:
                return await self._completed(row, job, result, successor, started)
            if probe.handed_over:
                return None
            resolved = probe.resolved  # a torrent; None for a page or a manifest
            manifest = _is_manifest(row.source_url, probe.page_type)
            if resolved is None and manifest:
                resolved = await self._live(row, job, cookies, profile.proxy)
            if resolved is None:
                job.status = Status.RESOLVING
                params = network_params(profile, sleep_seconds=sleep, download=False)
                extracting = asyncio.ensure_future(
                    self._page(row.source_url, probe.page_type, cookies, params)
                )
                resolution = await until_stopped(extracting, job.stop)
                if resolution.kind == "playlist":
                    if is_anonymous(row.owner_key):
                        raise PlaylistRefused()
                    await _told(started)
                    await expand(self.ctx, row, resolution)
                    return None
                resolved = _resolution_dict(resolution)
                extracted = resolution.extracted
                if resolution.hls_manifest is not None and not manifest:
                    live = await self._live(
                        row, job, cookies, profile.proxy, resolution.hls_manifest
                    )
                    resolved = {**live, "title": resolution.title} if live else resolved
        if resolved["kind"] == "live":
            return await self._record(row, resolved, job, profile, successor, started, cookies)
        if offer and resolved["kind"] != "file" and await self._handoff(row, resolved, started):
            return None  # an external client (a torrent client, a preferred aria2) took it
        if resolved["kind"] == "torrent":
            raise PermanentTransferError(
                "Magnet links and .torrent files need a torrent client, and none is configured.",
                code="no_torrent_client",
            )
        _remember(row, resolved)
        job.title = row.title
        reuse = extracted if resolved["kind"] == "media" else None
        result = await self._media(row, resolved, job, profile, cookies, sleep, reuse)
        return await self._completed(row, job, result, successor, started)

    async def _pace(self, row: Download, job: LiveJob) -> float:
        """Wait for this transfer's turn at its site when a site rule asks for a pause
        between requests; returns that pause (0: none)."""
        rule = rule_for(site_of(row.source_url), self.ctx.site_rules())
        if rule is None or rule.sleep_seconds <= 0:
            return 0.0
        turn = asyncio.ensure_future(self.ctx.pacer.turn(rule.domain, rule.sleep_seconds))
        waited = await until_stopped(turn, job.stop)
        if waited > 0:
            log.debug("download %s waited %.1f s for its turn at %s", row.id, waited, rule.domain)
        return rule.sleep_seconds

    async def _iptv(
        self,
        row: Download,
        job: LiveJob,
        successor: Successor[T] | None,
        started: asyncio.Future[None],
    ) -> T | None:
        """An IPTV film or episode: the provider is asked for the stream at every attempt (a
        retry gets a fresh URL); the URL, which carries the credentials, is never kept."""
        if self.ctx.iptv is None:
            raise PermanentTransferError("IPTV downloads are not available here.", code="iptv")
        job.status = Status.RESOLVING
        stream = await until_stopped(self.ctx.iptv(row), job.stop)
        known = row.meta.get("resolved") or {}
        resolved = {
            "kind": "file",
            "url": stream.url,
            "filename": known.get("filename") or stream.filename,
            "secret_url": True,
        }
        try:
            if await self._handoff(row, resolved, started):
                return None  # a preferred aria2 took it
            probe = _Probe(row, lambda found: self._handoff(row, found, started))
            result = await self._direct(row, resolved, job, probe, await self._cookies(row))
        except TransferError as exc:
            exc.message = stream.redact(exc.message)
            exc.args = (exc.message,)
            raise
        if result is None:
            raise PermanentTransferError("The provider's stream is not a file.", code="iptv")
        return await self._completed(row, job, result, successor, started)

    async def _handoff(
        self, row: Download, resolved: dict[str, Any], started: asyncio.Future[None]
    ) -> bool:
        """Offer the source to the external clients; True when one of them took it."""
        if self.handoff is None:
            return False
        await _told(started)  # the start is told before a hand-over is
        return await self.handoff(row, resolved)

    async def _offer_file(
        self,
        row: Download,
        resolved: dict[str, Any],
        started: asyncio.Future[None],
        cookies: SiteCookies | None,
    ) -> bool:
        """Offer a direct file to the external clients, unless the owner's site cookies go
        with its requests: an external client cannot be given them for this file alone (and
        would carry them across a redirect to another site), so such a file stays with the
        built-in engine, which sends them where they belong."""
        if cookies is not None and cookies.header(resolved["url"]) is not None:
            log.debug("download %s: kept by the built-in engine for its site cookies", row.id)
            return False
        return await self._handoff(row, resolved, started)

    def _check_stop(self, job: LiveJob) -> None:
        # The end of a live recording asked before this attempt began finishes what an
        # earlier one recorded (see _record): it does not stop the attempt.
        if job.stop.is_set() and job.stop.reason != "finish":
            raise TransferStopped()

    async def _completed(
        self,
        row: Download,
        job: LiveJob,
        result: EngineResult,
        successor: Successor[T] | None,
        started: asyncio.Future[None],
    ) -> T | None:
        job.status = Status.PROCESSING
        await _told(started)
        return await self.outcomes.completed(row, result, successor, job.stop)

    async def _direct(
        self,
        row: Download,
        resolved: dict[str, Any] | None,
        job: LiveJob,
        probe: _Probe,
        cookies: SiteCookies | None,
        *,
        proxy: str | None = None,
        sleep: float = 0.0,
    ) -> EngineResult | None:
        """Stream a direct file with the HTTP engine; None when the probe declined the answer
        (not a file, or handed over). With ``resolved`` None the answer's headers decide."""
        work = self.ctx.builtin.work_dir(row.id)
        filename = resolved.get("filename") if resolved is not None else None
        if resolved is None:
            # Nothing known, yet a part may lie in the work folder: a worker that died in the
            # middle of this job. Asking for the rest of it is harmless if the source turns out
            # to be a page (the answer is declined unread) and saves the bytes if it is a file.
            filename = _part_name(work)
        url = (resolved or {}).get("url") or row.source_url
        rule = rule_for(site_of(url), self.ctx.site_rules())
        hints = dict(resolved or {})
        if row.meta.get("subscription_id") is not None and row.title and not filename:
            hints["title"] = row.title  # a feed's episode is named after its title
        engine_job = EngineJob(
            download_id=row.id,
            url=url,
            dest_dir=work,
            filename=filename,
            hints=hints,
            accept=probe.accept if resolved is None else None,
            cookies=cookies,
            proxy=proxy,
            sleep_seconds=sleep,
            throttle=job.throttle,
            connections=rule.connections if rule is not None else None,
        )
        try:
            task = asyncio.ensure_future(self.ctx.direct.run(engine_job, job.on_progress, job.stop))
            result = await until_stopped(task, job.stop)
        finally:
            # The engine announces the name it chose before any byte: a retry resumes it.
            chosen = job.progress.filename if job.progress is not None else None
            known = probe.resolved if resolved is None else resolved
            if chosen and known is not None and known["kind"] == "file":
                _remember(row, {**known, "filename": chosen})
            if job.notices:
                notices = job.take_notices()
                await asyncio.shield(self.outcomes.noted(row, notices))
        if result is not None and resolved is None and probe.resolved is None:
            # The part was complete already (416): what lay there was a file.
            _remember(row, {"kind": "file", "url": row.source_url, "filename": filename})
        return result

    async def _media(
        self,
        row: Download,
        resolved: dict[str, Any],
        job: LiveJob,
        profile: Profile,
        cookies: SiteCookies | None,
        sleep: float = 0.0,
        extracted: Mapping[str, Any] | None = None,
    ) -> EngineResult:
        """The media engine (yt-dlp) on the item a page holds (``extracted``: as this attempt's
        extraction read it), or on a direct file."""
        work = self.ctx.builtin.work_dir(row.id)
        work.mkdir(parents=True, exist_ok=True)
        engine_job = EngineJob(
            download_id=row.id,
            url=resolved.get("url") or row.source_url,
            dest_dir=work,
            profile=profile,
            playlist_index=row.playlist_index,
            playlist_entry_id=_entry_id(row.meta.get("playlist_entry_id")),
            filename=resolved.get("filename"),
            hints=resolved,
            cookies=cookies,
            sleep_seconds=sleep,
            extracted=extracted,
            throttle=job.throttle,
        )
        job.status = Status.DOWNLOADING
        result = await self.ctx.media.run(engine_job, job.on_progress, job.stop)
        if result is None:
            raise PermanentTransferError(f"yt-dlp produced nothing for {engine_job.url}.")
        return result

    async def _live(
        self,
        row: Download,
        job: LiveJob,
        cookies: SiteCookies | None,
        proxy: str | None,
        manifest: str | None = None,
    ) -> dict[str, Any] | None:
        """A live HLS stream's resolution (its media playlist), or None: not live, or no
        recorder here (the manifest goes to yt-dlp). ``manifest``: the HLS manifest a page
        holds (None: the source itself is one)."""
        if self.ctx.recorder is None:
            return None
        job.status = Status.RESOLVING
        found = self.ctx.recorder.live_playlist(manifest or row.source_url, cookies, proxy)
        playlist = await until_stopped(found, job.stop)
        if playlist is None:
            return None
        return {"kind": "live", "url": row.source_url, "playlist": playlist, "title": row.title}

    async def _record(
        self,
        row: Download,
        resolved: dict[str, Any],
        job: LiveJob,
        profile: Profile,
        successor: Successor[T] | None,
        started: asyncio.Future[None],
        cookies: SiteCookies | None,
    ) -> T | None:
        """Record a live stream until it ends or the user stops the recording (a stop asked
        before this attempt, say before a crash, finishes what an earlier one recorded)."""
        if self.ctx.recorder is None:
            raise PermanentTransferError(
                "Live streams cannot be recorded here.", code="live_unsupported"
            )
        known = row.meta.get("resolved") or {}
        _remember(row, resolved)
        # Its title from the start: the page's, else the stream's name (as its file is named).
        row.title = row.title or stem(None, resolved.get("url") or row.source_url)
        job.title = row.title
        if known.get("kind") != "live":
            await _told(started)
            message = "Recording a live stream"
            await self.ctx.jobs.recording(row.id, Learned(row.meta["resolved"], row.title), message)
            await self.ctx.publish(row)
        if row.meta.get("stop_requested"):
            job.stop.set("finish")
        work = self.ctx.builtin.work_dir(row.id)
        hints = dict(resolved)
        if row.meta.get("max_duration") is not None:
            hints["max_duration"] = row.meta["max_duration"]
        engine_job = EngineJob(
            download_id=row.id,
            url=resolved.get("url") or row.source_url,
            dest_dir=work,
            profile=profile,
            hints={**hints, "title": row.title},
            cookies=cookies,
            proxy=profile.proxy,
            throttle=job.throttle,
        )
        job.status = Status.DOWNLOADING
        try:
            result = await self.ctx.recorder.run(engine_job, job.on_progress, job.stop)
        finally:
            if job.notices:
                await asyncio.shield(self.outcomes.noted(row, job.take_notices(), "recording"))
        ended = ENDINGS.get(str(result.meta.get("ended_by")))
        if ended is not None:
            await asyncio.shield(self.outcomes.noted(row, [ended], "recording_ended"))
        return await self._completed(row, job, result, successor, started)

    async def _page(
        self,
        url: str,
        content_type: str | None,
        cookies: SiteCookies | None,
        params: Mapping[str, Any] | None = None,
    ) -> Resolution:
        """What a page holds, as yt-dlp (in a thread) finds it, under the address policy
        (through the profile's proxy, if any: the proxy connects, not haul)."""
        policy = None if params and params.get("proxy") else self.ctx.addresses
        with guard.watch(policy, url, links=True):
            return await from_page(
                url, content_type, extract=self.ctx.extract, cookies=cookies, params=params
            )

    async def _cookies(self, row: Download) -> SiteCookies | None:
        """The site cookies the download's owner uploaded (None: none)."""
        return None if self.ctx.cookies is None else await self.ctx.cookies(row.owner_key)


class _Probe:
    """The HTTP engine's ``accept``: what the first answer's headers say the source is.

    A file is accepted (unless an external client takes it, or ``files`` is False: then it is
    declined and kept in :attr:`resolved`, for yt-dlp). A torrent is declined and kept in
    :attr:`resolved`; a page or a manifest is declined with :attr:`resolved` left None and its
    media type in :attr:`page_type`, for yt-dlp.
    """

    def __init__(
        self,
        row: Download,
        handoff: Callable[[dict[str, Any]], Awaitable[bool]],
        files: bool = True,
    ) -> None:
        self.row = row
        self.handoff = handoff
        self.files = files
        self.resolved: dict[str, Any] | None = None
        self.page_type: str | None = None
        self.handed_over = False

    async def accept(self, url: str, status: int, headers: Mapping[str, str]) -> bool:
        found = from_answer(self.row.source_url, url, status, headers)
        if found is None:
            self.page_type = media_type(headers.get("content-type"))
            return False
        self.resolved = _resolution_dict(found)
        if found.kind != "file" or not self.files:
            return False
        if await self.handoff(self.resolved):
            self.handed_over = True
            return False
        _remember(self.row, self.resolved)
        return True


async def _told(notification: asyncio.Future[None]) -> None:
    """Wait for a notification of subscribers; its failure is logged, it fails no download."""
    try:
        await notification
    except Exception:
        log.exception("telling subscribers of a change failed")


def _remember(row: Download, resolved: dict[str, Any]) -> None:
    """Keep what the source is on the row, for the write that ends this attempt (a URL that
    carries credentials is not kept: it is asked for again)."""
    row.meta = {**row.meta, "resolved": storable(resolved)}
    row.title = row.title or resolved.get("title")


def _is_manifest(url: str, content_type: str | None) -> bool:
    """Whether a source declined by the HTTP engine is an HLS playlist (by type or name)."""
    if content_type in ("application/vnd.apple.mpegurl", "application/x-mpegurl"):
        return True
    return urlsplit(url).path.lower().endswith(".m3u8")


def _part_name(folder: Path) -> str | None:
    """The file name of the one ``.part`` file in ``folder``, if there is exactly one."""
    try:
        parts = [p.name for p in folder.iterdir() if p.name.endswith(PART_SUFFIX)]
    except OSError:  # no folder yet: a first attempt
        return None
    return parts[0].removesuffix(PART_SUFFIX) if len(parts) == 1 else None


def _resolution_dict(resolution: Resolution) -> dict[str, Any]:
    return {
        "kind": resolution.kind,
        "url": resolution.url,
        "title": resolution.title,
        "filename": resolution.filename,
        "size": resolution.size,
        "content_type": resolution.content_type,
        **({"thumbnail": resolution.thumbnail} if resolution.thumbnail else {}),
    }


def _entry_id(value: object) -> str | None:
    """The id a playlist entry had when it was listed, as kept in a download's ``meta``."""
    return value if isinstance(value, str) and value else None
