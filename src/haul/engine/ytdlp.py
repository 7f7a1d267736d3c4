"""yt-dlp as a library: learn what a page holds, and download one media item of it.

Both functions block; callers run them in a worker thread. yt-dlp runs in a quiet session
(:mod:`haul.engine.ytdlp_session`) and only writes inside ``job.dest_dir``: ``.part`` files
stay there when a job stops, so the next run resumes them. Errors leave as haul errors
(:mod:`haul.engine.ytdlp_errors`).
"""

from __future__ import annotations

import contextlib
import copy
import errno
import itertools
import logging
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from yt_dlp import YoutubeDL
from yt_dlp.postprocessor.common import PostProcessor
from yt_dlp.utils import DownloadCancelled, YoutubeDLError

from haul.core.cookies import DotlessHostPolicy, SiteCookies
from haul.core.images import source_of
from haul.core.paths import inside, template_stays_inside
from haul.core.profiles import SPONSORBLOCK_API
from haul.core.proxies import scrub
from haul.engine.base import (
    PROGRESS_INTERVAL,
    EngineJob,
    EngineResult,
    Progress,
    ProgressCallback,
    StopSignal,
)
from haul.engine.http_errors import disk_error
from haul.engine.ytdlp_errors import translate
from haul.engine.ytdlp_network import network_params
from haul.engine.ytdlp_profile import WriteNfo, file_kinds, profile_params, side_files
from haul.engine.ytdlp_session import open_session
from haul.errors import PermanentTransferError, TransferError, TransferStopped

log = logging.getLogger(__name__)

#: Seconds a download waits for a silent server before the attempt fails (transient).
DOWNLOAD_SOCKET_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class ExtractedEntry:
    """One entry of a playlist as flat extraction sees it (``index`` is 1-based)."""

    index: int
    url: str | None
    title: str | None
    #: The entry's id at its extractor (``extractor``), when the listing gives one.
    id: str | None = None
    extractor: str | None = None
    #: When it was published (seconds since the epoch), when the listing says.
    timestamp: float | None = None
    #: The link of the media itself, for an entry the listing read whole (a page's embedded
    #: video, whose id is only its place on the page: see :func:`media_link`).
    media_url: str | None = None


@dataclass(frozen=True, slots=True)
class Extraction:
    """What yt-dlp learned about a URL without downloading it."""

    kind: Literal["media", "playlist"]
    url: str
    id: str | None = None
    title: str | None = None
    extractor: str | None = None
    entries: tuple[ExtractedEntry, ...] = ()
    #: The HLS manifest of a media item that may be a live stream: one yt-dlp says is live,
    #: or whose every format is HLS (whether it is live, the manifest tells).
    hls_manifest: str | None = None
    #: Where the page's picture is (an http(s) address), if yt-dlp found one.
    thumbnail: str | None = None
    #: The link of a single media item's media itself (see :func:`media_link`).
    media_url: str | None = None
    #: A single media item as yt-dlp read it (not processed), for the download pass to start
    #: from (:attr:`haul.engine.base.EngineJob.extracted`); None for a playlist.
    info: dict[str, Any] | None = field(default=None, compare=False, repr=False)


class _Stopped(DownloadCancelled):  # type: ignore[misc]
    """Raised inside a progress hook: yt-dlp unwinds, closes the ``.part`` and keeps it."""


def extract(
    url: str,
    *,
    timeout: float = 30.0,
    max_entries: int = 5000,
    cookies: SiteCookies | None = None,
    params: Mapping[str, Any] | None = None,
) -> Extraction:
    """Flat extraction of ``url``: a single media item, or a playlist and its entries.

    Nothing is downloaded and playlist entries are not resolved. ``timeout`` bounds every
    network wait (not the whole call); at most ``max_entries`` entries are listed. yt-dlp
    gets the ``cookies`` of the page's site, and ``params`` (a profile's proxy and extractor
    arguments, a site rule's pause: :func:`~haul.engine.ytdlp_profile.network_params`).
    """
    given = None
    try:
        with open_session("[extract]", socket_timeout=timeout, **(params or {})) as ydl:
            given = give_cookies(ydl, url, cookies)
            info = ydl.extract_info(url, download=False, process=False)
            info = _follow_redirects(ydl, info)
            return _extraction(url, info, max_entries)
    except YoutubeDLError as exc:
        proxy = (params or {}).get("proxy")
        raise _scrubbed(translate(exc, url, cookies_of=given, proxy=proxy), proxy) from exc


def _scrubbed(error: TransferError, proxy: str | None) -> TransferError:
    """``error`` without the proxy's credentials in its message (it is stored and shown)."""
    cleaned = scrub(error.message, proxy)
    if cleaned != error.message:
        error.message = cleaned
        error.args = (cleaned,)
    return error


def give_cookies(ydl: YoutubeDL, url: str, cookies: SiteCookies | None) -> str | None:
    """Put the cookies of ``url``'s site into the session's jar (in memory: no file is
    written, and yt-dlp saves none without a ``cookiefile``); yt-dlp sends each on the
    requests its domain, path and ``Secure`` flag allow. The site they are for, if any.

    The jar's rules stay yt-dlp's, but for a host name without a dot (``localhost``, ``nas``):
    its cookies go to that host, where the standard library's jar would send them nowhere.
    yt-dlp's ``requests`` handler copies the jar's cookies into a jar of its own, under the
    standard library's rules, which look for a dotless host's cookies under ``nas.local``: a
    cookie for such a host goes in under that name too (each handler sends one of the two).
    """
    if not cookies:
        return None
    chosen = cookies.for_site(url)
    if chosen:
        ydl.cookiejar.set_policy(DotlessHostPolicy())
    for cookie in chosen:
        ydl.cookiejar.set_cookie(copy.copy(cookie))
        host = cookie.domain.removeprefix(".")
        if host and "." not in host:
            alias = copy.copy(cookie)
            alias.domain = f"{host}.local"
            alias.domain_specified = alias.domain_initial_dot = False
            ydl.cookiejar.set_cookie(alias)
    return urlsplit(url).hostname if chosen else None


def _follow_redirects(ydl: YoutubeDL, info: dict[str, Any]) -> dict[str, Any]:
    """Resolve ``url`` / ``url_transparent`` results (a redirect, an embed) a few hops deep."""
    for _ in range(5):
        if info.get("_type") not in ("url", "url_transparent"):
            return info
        outer = info
        info = ydl.extract_info(
            outer["url"], download=False, process=False, ie_key=outer.get("ie_key")
        )
        if outer.get("_type") == "url_transparent":
            extra = {k: v for k, v in outer.items() if v is not None and k not in ("_type", "url")}
            info = {**info, **extra}
    return info


def _extraction(url: str, info: dict[str, Any], max_entries: int) -> Extraction:
    is_playlist = info.get("_type") in ("playlist", "multi_video")
    return Extraction(
        kind="playlist" if is_playlist else "media",
        url=url,
        id=_str(info.get("id")),
        title=_str(info.get("title")),
        extractor=_str(info.get("extractor_key") or info.get("extractor")),
        entries=tuple(_entries(info.get("entries") or (), max_entries)) if is_playlist else (),
        hls_manifest=None if is_playlist else _hls_manifest(info),
        thumbnail=source_of(info),
        media_url=None if is_playlist else media_link(info),
        info=info if info.get("_type", "video") == "video" else None,
    )


def _hls_manifest(info: dict[str, Any]) -> str | None:
    """The manifest of the best HLS format of ``info`` when it may be live (see
    :attr:`Extraction.hls_manifest`); None otherwise."""
    formats = [f for f in info.get("formats") or () if isinstance(f, dict) and f.get("url")]
    hls = [f for f in formats if str(f.get("protocol") or "").startswith("m3u8")]
    live = info.get("is_live") or info.get("live_status") == "is_live"
    if not hls or not (live or len(hls) == len(formats)):
        return None
    best = max(hls, key=lambda f: (f.get("tbr") or 0, f.get("height") or 0))
    manifest = best.get("manifest_url") or best.get("url")
    return str(manifest) if manifest else None


def _entries(raw: Iterable[Any], limit: int) -> Iterator[ExtractedEntry]:
    if hasattr(raw, "getslice"):  # yt-dlp's PagedList: fetch only the pages needed
        raw = raw.getslice(0, limit)
    for index, entry in enumerate(itertools.islice(raw, limit), start=1):
        if not isinstance(entry, dict):
            yield ExtractedEntry(index, None, None)
            continue
        media = None
        if entry.get("_type") in ("url", "url_transparent"):
            entry_url = entry.get("url")
        else:
            entry_url = entry.get("webpage_url")
            media = media_link(entry)
        yield ExtractedEntry(
            index,
            _str(entry_url),
            _str(entry.get("title")),
            id=_str(entry.get("id")),
            extractor=_str(entry.get("ie_key") or entry.get("extractor_key")),
            timestamp=_published(entry),
            media_url=media,
        )


def media_link(info: Mapping[str, Any]) -> str | None:
    """The http(s) link of the media of a read item: its own, else its first format's.

    It names the video for good where its id does not: yt-dlp calls the videos embedded in a
    plain page by their place on it (``page-1``, ``page-2``), so a video added at the top
    takes the id of the one that was first."""
    formats = [f for f in info.get("formats") or () if isinstance(f, Mapping)]
    for found in (info.get("url"), *(f.get("url") for f in formats)):
        if isinstance(found, str) and found.startswith(("http://", "https://")):
            return found
    return None


def _published(entry: Mapping[str, Any]) -> float | None:
    """When a listed entry was published, as its listing says (a timestamp, or a date)."""
    for name in ("timestamp", "release_timestamp"):
        value = entry.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    day = entry.get("upload_date") or entry.get("release_date")
    if isinstance(day, str) and len(day) == 8 and day.isdigit():
        try:
            return datetime.strptime(day, "%Y%m%d").replace(tzinfo=UTC).timestamp()
        except ValueError:
            return None
    return None


def _str(value: object) -> str | None:
    return None if value is None else str(value)


def check_template(template: str) -> None:
    """Refuse an output template that could write outside the destination folder."""
    if (
        YoutubeDL.validate_outtmpl(template) is not None
        or not template_stays_inside(template)
        or template.strip() == "-"  # yt-dlp's name for stdout
    ):
        raise PermanentTransferError(
            f"The output template {template!r} must be a relative path inside the download folder.",
            code="bad_template",
        )


_DOTS = re.compile(r"\s*\.+\s*")


def _neutral(value: Any) -> Any:
    """``value`` with every text made of dots alone (``.``, ``..``) turned into underscores,
    lists and dicts searched: as a field of an output template such a text would name a
    folder (``%(uploader)s/`` of an uploader called ``..``). Unchanged values are returned
    as they are (the same object)."""
    if isinstance(value, str):
        return value.replace(".", "_") if _DOTS.fullmatch(value) else value
    if isinstance(value, dict):
        changed = {k: _neutral(v) for k, v in value.items()}
        return value if all(changed[k] is value[k] for k in value) else changed
    if isinstance(value, list):
        items = [_neutral(v) for v in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    return value


class _StaysInside(PostProcessor):  # type: ignore[misc]
    """Run by yt-dlp for each media item before it names its files (stage ``video``): fields
    made of dots are neutralised, then every name yt-dlp will write (the file, its ``.part``,
    its subtitles, thumbnail and info JSON) must lie inside the destination, else the
    download stops before a byte or a folder is written. Field values are only half the
    story: a template's replacement text (``%(title&..|)s/``) is not a field and is caught
    here too."""

    def __init__(self, ydl: YoutubeDL, dest: Path, template: str) -> None:
        super().__init__(ydl)
        self._dest = dest
        self._template = template

    def run(self, info: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
        info = _neutral(info)
        for kind in file_kinds(self._downloader.params):
            name = self._downloader.prepare_filename(info, kind)
            if name and not inside(Path(name), self._dest):
                shown = os.path.relpath(name, self._dest)
                raise PermanentTransferError(
                    f"The output template {self._template!r} names {shown!r} for this page, "
                    "outside the download folder; nothing was downloaded.",
                    code="bad_template",
                )
        return [], info


def _job_params(
    job: EngineJob, hooks: _Hooks, *, sponsorblock_api: str = SPONSORBLOCK_API
) -> dict[str, Any]:
    profile = job.profile
    check_template(profile.output_template)
    params: dict[str, Any] = {
        **profile_params(profile, sponsorblock_api=sponsorblock_api),
        "paths": {"home": str(job.dest_dir), "temp": str(job.dest_dir)},
        "outtmpl": {"default": profile.output_template},
        "continuedl": True,
        "nopart": False,
        "restrictfilenames": False,
        "windowsfilenames": True,
        "noplaylist": job.playlist_index is None,
        # HLS and DASH fragments fetched at once (yt-dlp's own downloader, not ffmpeg's)
        "concurrent_fragment_downloads": profile.concurrent_fragments,
        "progress_hooks": [hooks.progress],
        "postprocessor_hooks": [hooks.postprocessor],
    }
    if job.playlist_index is not None:
        params["playlist_items"] = str(job.playlist_index)
        if job.playlist_entry_id is not None:
            params["match_filter"] = _SameEntry(job.playlist_entry_id)
    if job.sleep_seconds > 0:
        params.update(network_params(profile, sleep_seconds=job.sleep_seconds))
    return params


class _SameEntry:
    """yt-dlp's match filter of a playlist entry taken by its index: the entry found there is
    downloaded only if it is the one listed (its id); an entry not yet read in full passes."""

    def __init__(self, entry_id: str) -> None:
        self.entry_id = entry_id

    def __call__(self, info: Mapping[str, Any], *, incomplete: bool = False) -> str | None:
        found = info.get("id")
        if found is None or str(found) == self.entry_id:
            return None
        return "another entry than the one listed"


class _Hooks:
    """yt-dlp's progress and postprocessor hooks, turned into haul :class:`Progress`."""

    def __init__(self, job: EngineJob, on_progress: ProgressCallback, stop: StopSignal) -> None:
        self._dest = job.dest_dir
        self._on_progress = on_progress
        self._stop = stop
        self._last = 0.0
        self._done_bytes = 0  # bytes of files finished earlier in this run (formats, subtitles)
        self._lock = threading.Lock()  # fragments may report from several threads
        self._throttle = job.throttle
        self._counted: dict[str, int] = {}  # bytes of each file counted against the limits

    def progress(self, d: dict[str, Any]) -> None:
        if self._stop.is_set():
            raise _Stopped(f"Stopped ({self._stop.reason}).")
        status = d.get("status")
        if status not in ("downloading", "finished"):
            return
        if self._throttle is not None and status == "downloading":
            self._limit(d)
        with self._lock:
            now = time.monotonic()
            final = status == "finished"
            if not final and now - self._last < PROGRESS_INTERVAL:  # a file's last always goes
                return
            self._last = now
            downloaded = int(d.get("downloaded_bytes") or 0)
            total = d.get("total_bytes") or d.get("total_bytes_estimate")
            reading = Progress(
                downloaded_bytes=self._done_bytes + downloaded,
                total_bytes=None if total is None else self._done_bytes + int(total),
                speed=d.get("speed"),
                eta=d.get("eta"),
                filename=self._name(d.get("filename") or d.get("tmpfilename")),
                fragment_index=d.get("fragment_index"),
                fragment_count=d.get("fragment_count"),
            )
            if final:
                self._done_bytes += downloaded
        self._on_progress(reading)

    def _limit(self, d: dict[str, Any]) -> None:
        """Hold yt-dlp's thread as long as the speed limits ask for the bytes that arrived
        since the last call (yt-dlp calls the hook after every block it reads): its
        transfers share the budgets of the HTTP engine's (:mod:`haul.engine.bandwidth`)."""
        assert self._throttle is not None
        key = str(d.get("tmpfilename") or d.get("filename") or "")
        downloaded = int(d.get("downloaded_bytes") or 0)
        with self._lock:
            new = downloaded - self._counted.get(key, 0)
            self._counted[key] = max(downloaded, self._counted.get(key, 0))
        if new > 0:
            self._throttle.take_blocking(new, self._stop)

    def postprocessor(self, d: dict[str, Any]) -> None:
        log.debug("postprocessor %s %s", d.get("postprocessor"), d.get("status"))

    def _name(self, path: object) -> str | None:
        if not path:
            return None
        rel = os.path.relpath(str(path), self._dest)
        return Path(str(path)).name if rel.startswith("..") else rel


def run_download(
    job: EngineJob,
    on_progress: ProgressCallback,
    stop: StopSignal,
    *,
    sponsorblock_api: str = SPONSORBLOCK_API,
) -> EngineResult:
    """Download ``job.url`` (entry ``job.playlist_index`` of it, if set) into ``job.dest_dir``,
    as its profile asks (see :mod:`haul.engine.ytdlp_profile`; SponsorBlock segments come from
    ``sponsorblock_api``).

    Raises :class:`TransferStopped` soon after ``stop`` is set, leaving the ``.part`` file for a
    later run to resume; other failures leave as :class:`~haul.errors.TransferError`.
    """
    if stop.is_set():
        raise TransferStopped(f"Stopped ({stop.reason}) before it started.")
    job.dest_dir.mkdir(parents=True, exist_ok=True)
    hooks = _Hooks(job, on_progress, stop)
    params = _job_params(job, hooks, sponsorblock_api=sponsorblock_api)
    given = None
    try:
        tag = f"[download {job.download_id}]"
        with open_session(tag, socket_timeout=DOWNLOAD_SOCKET_TIMEOUT, **params) as ydl:
            given = give_cookies(ydl, job.url, job.cookies)
            ydl.add_post_processor(
                _StaysInside(ydl, job.dest_dir, job.profile.output_template), when="video"
            )
            if job.profile.write_nfo:
                ydl.add_post_processor(WriteNfo(ydl, job.dest_dir), when="post_process")
            if job.extracted is not None and job.playlist_index is None:
                # The page as this attempt's extraction read it: not read (nor paused for)
                # again; yt-dlp picks the formats and downloads from there.
                info = ydl.process_ie_result(dict(job.extracted), download=True)
            else:
                info = ydl.extract_info(job.url, download=True)
    except _Stopped as exc:
        raise TransferStopped(f"Stopped ({stop.reason}).") from exc
    except YoutubeDLError as exc:
        if stop.is_set():
            raise TransferStopped(f"Stopped ({stop.reason}).") from exc
        proxy = job.profile.proxy
        found = translate(
            exc, job.url, cookies_of=given, format_asked=params.get("format"), proxy=proxy
        )
        raise _scrubbed(found, proxy) from exc
    except OSError as exc:  # a write yt-dlp does not wrap in its own errors
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise disk_error(exc, job.dest_dir) from exc
        raise
    result = _result(job, info)
    _drop_fragment_parts(job.dest_dir)
    return result


def _drop_fragment_parts(folder: Path) -> None:
    """Delete what is left of fragments in the job's own folder once its download is done.
    A download stopped while yt-dlp fetched several fragments at once and resumed later can
    leave one's ``<name>.part-FragN.part`` behind, which nothing would ever read."""
    for left in folder.glob("*.part-Frag*"):
        with contextlib.suppress(OSError):
            left.unlink()


def _result(job: EngineJob, info: dict[str, Any]) -> EngineResult:
    item = info
    if info.get("_type") in ("playlist", "multi_video"):
        found = [e for e in info.get("entries") or () if isinstance(e, dict)]
        if not found and job.playlist_entry_id is not None:
            raise PermanentTransferError(
                f"Entry {job.playlist_index} of {job.url} is no longer the video this download "
                "was made for (the page changed); nothing was downloaded.",
                code="entry_changed",
            )
        if not found:
            where = f"entry {job.playlist_index} of " if job.playlist_index else ""
            raise PermanentTransferError(
                f"There is no {where}playlist at {job.url} to download.", code="entry_missing"
            )
        item = found[0]
    files: list[Path] = []
    for download in item.get("requested_downloads") or ():
        if download.get("filepath"):
            files.append(Path(download["filepath"]))
    for sub in (item.get("requested_subtitles") or {}).values():
        if sub and sub.get("filepath"):
            files.append(Path(sub["filepath"]))
    files.extend(side_files(item, nfo=job.profile.write_nfo))
    root = job.dest_dir.resolve()
    files = [f for f in dict.fromkeys(files) if f.exists()]
    if not files:
        raise PermanentTransferError(f"yt-dlp produced no file for {job.url}.", code="no_files")
    for path in files:
        if not path.resolve().is_relative_to(root):
            raise PermanentTransferError(
                f"yt-dlp wrote {path} outside the download folder.", code="bad_template"
            )
    meta = {
        key: item.get(key)
        for key in ("extractor", "id", "webpage_url", "duration", "ext")
        if item.get(key) is not None
    }
    thumbnail = source_of(item)
    if thumbnail is not None:
        meta["thumbnail"] = thumbnail  # fetched by haul later, never shown as it is
    return EngineResult(files=tuple(files), title=_str(item.get("title")), meta=meta)
