"""What the built-in engines (direct HTTP and yt-dlp) share: the :class:`Engine` protocol, a
job, progress, a stop signal.

An engine moves the bytes of one job into ``job.dest_dir``. It reports progress through a
callback that may be called very often (the built-in client coalesces it), checks the
:class:`StopSignal` and raises :class:`~haul.errors.TransferStopped` promptly when it is set,
and returns an :class:`EngineResult` naming the files it produced. Errors leave the engine as
:class:`~haul.errors.TransferError` subclasses, already classified as transient or permanent.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from haul.core.cookies import SiteCookies

#: Why a job is asked to stop. ``finish`` ends a live recording and keeps what was recorded
#: (:mod:`haul.engine.hls`); every other reason stops the transfer without a result.
#: ``schedule``: a pause window of the speed schedule began (the job goes back to the queue).
StopReason = Literal["pause", "cancel", "shutdown", "stall", "finish", "schedule"]


@dataclass(frozen=True, slots=True)
class Progress:
    """One progress reading of a running transfer."""

    downloaded_bytes: int
    total_bytes: int | None = None
    speed: float | None = None  # bytes per second
    eta: float | None = None  # seconds
    filename: str | None = None
    fragment_index: int | None = None
    fragment_count: int | None = None
    #: Something the user should hear of that is not an error (the transfer went on), e.g. that
    #: a part was dropped and the file is fetched again from its start.
    notice: str | None = None
    #: A live stream being recorded: no total, and the seconds of media recorded so far.
    live: bool = False
    recorded_seconds: float | None = None


ProgressCallback = Callable[[Progress], None]

#: Sees the final URL, status and headers of an answer before its body is streamed or any
#: file is made; False declines it (the direct engine's probe, see :mod:`haul.engine.http`).
Accept = Callable[[str, int, Mapping[str, str]], Awaitable[bool]]


class Throttle(Protocol):
    """The speed limits one transfer is under (:mod:`haul.engine.bandwidth`): an engine hands
    over the size of every piece it received and waits as long as the limits ask before
    taking more."""

    async def take(self, n: int, stop: StopSignal | None = None) -> None:
        """Count ``n`` bytes received; return when the next piece may be taken (or, given
        ``stop``, as soon as it is set)."""

    def take_blocking(self, n: int, stop: StopSignal) -> None:
        """:meth:`take` for an engine running in a thread (yt-dlp); returns early when
        ``stop`` is set."""


class StopSignal:
    """A thread-safe flag asking an engine to stop, with the reason.

    Engines running in a thread poll :meth:`is_set`; async engines may also await
    :meth:`wait`-free cancellation, the built-in client cancels their task as well.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason: StopReason | None = None

    def set(self, reason: StopReason) -> None:
        # The first reason wins, but a cancel or a shutdown overrides the end of a live
        # recording (which would keep its file).
        if self.reason is None or (self.reason == "finish" and reason in ("cancel", "shutdown")):
            self.reason = reason
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()


@dataclass(frozen=True, slots=True)
class Profile:
    """The engine-facing part of a named download profile."""

    name: str = "default"
    format: str | None = None  # yt-dlp format selector; None means yt-dlp's default
    container: str | None = None  # merge/remux target such as "mp4" or "mkv"
    subtitles: tuple[str, ...] = ()  # subtitle languages to fetch; () means none
    output_template: str = "%(title).200B [%(id)s].%(ext)s"
    #: A folder under the download root for the finished files (None: the root itself).
    target_dir: str | None = None
    #: Audio only: the format yt-dlp converts to (``best``: as it comes); None: not audio only.
    audio_format: str | None = None
    audio_quality: str | None = None  # a VBR level "0".."10" or a bitrate such as "192K"
    embed_metadata: bool = False  # title, uploader, date, description... as the file's tags
    embed_thumbnail: bool = False  # the page's thumbnail as the file's cover picture
    embed_chapters: bool = False
    embed_subtitles: bool = False  # the ``subtitles`` languages (none given: yt-dlp's choice)
    write_thumbnail: bool = False  # the thumbnail as a side file beside the media
    write_info_json: bool = False  # yt-dlp's info about the page, as ``<name>.info.json``
    write_nfo: bool = False  # a Kodi/Jellyfin NFO, ``<name>.nfo``
    #: SponsorBlock categories cut out of the file, and those marked as chapters.
    sponsorblock_remove: tuple[str, ...] = ()
    sponsorblock_mark: tuple[str, ...] = ()
    #: The proxy yt-dlp and the direct engine go through (an http or https URL; it may hold
    #: credentials, so it is never shown); None: none (the environment's, if any).
    proxy: str | None = field(default=None, repr=False)
    #: Why the profile cannot be used in this process (its sealed proxy cannot be opened
    #: here); a download with it fails with this sentence rather than go without its proxy.
    unusable: str | None = None
    #: yt-dlp's extractor_args: extractor -> argument -> values.
    extractor_args: Mapping[str, Mapping[str, tuple[str, ...]]] = field(
        default_factory=dict, hash=False
    )
    #: Fragments of an HLS or DASH stream yt-dlp fetches at once.
    concurrent_fragments: int = 4

    @property
    def post_processed(self) -> bool:
        """Whether the profile asks for what only yt-dlp's post-processors do (audio only,
        embedding, side files, SponsorBlock): a direct file is then fetched by yt-dlp too."""
        return bool(
            self.audio_format
            or self.embed_metadata
            or self.embed_thumbnail
            or self.embed_chapters
            or self.embed_subtitles
            or self.write_thumbnail
            or self.write_info_json
            or self.write_nfo
            or self.sponsorblock_remove
            or self.sponsorblock_mark
        )

    def chosen(
        self,
        format: str | None = None,
        audio_format: str | None = None,
        audio_quality: str | None = None,
    ) -> Profile:
        """This profile with one download's own choice in place of its own: a format
        selector, and for audio only the format to convert to (with its quality, else the
        profile's when it was audio only too). Nothing chosen: the profile as it is."""
        if format is None and audio_format is None:
            return self
        changes: dict[str, Any] = {}
        if format is not None:
            changes["format"] = format
        if audio_format is not None:
            changes["audio_format"] = audio_format
            changes["audio_quality"] = audio_quality or (
                self.audio_quality if self.audio_format else None
            )
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, slots=True)
class EngineJob:
    """Everything an engine needs to run one transfer."""

    download_id: int
    url: str
    dest_dir: Path
    profile: Profile = field(default_factory=Profile)
    #: For a child of a playlist: the 1-based index of the entry inside ``url``.
    playlist_index: int | None = None
    #: The id that entry had when it was listed: another entry found at the index now (the
    #: page changed) is not downloaded.
    playlist_entry_id: str | None = None
    #: A file name chosen in advance (HTTP engine); None lets the engine decide.
    filename: str | None = None
    #: What resolve learned about a direct file (size, type, name), so the engine need not ask.
    hints: dict[str, Any] = field(default_factory=dict)
    #: Asked before the first byte whether the answer is wanted (direct engine only); an
    #: engine whose answer was declined returns None, having written nothing.
    accept: Accept | None = field(default=None, compare=False, repr=False)
    #: The owner's site cookies: each request sends those of its own site (the HTTP engine
    #: on every redirect too); yt-dlp gets those of the job's site.
    cookies: SiteCookies | None = field(default=None, compare=False, repr=False)
    #: The proxy of the job's profile (the direct engine's; yt-dlp reads ``profile.proxy``).
    proxy: str | None = field(default=None, repr=False)
    #: Seconds between requests to the job's site (a site rule; yt-dlp's sleep intervals).
    sleep_seconds: float = 0.0
    #: What yt-dlp's extraction pass read of the page in this attempt (one media item, not
    #: processed): the download pass starts from it instead of reading the page again.
    extracted: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    #: The speed limits the transfer is under (None: none).
    throttle: Throttle | None = field(default=None, compare=False, repr=False)
    #: The most connections the direct engine may open for this file at once (a site rule's
    #: ``connections``); None: the engine's own setting.
    connections: int | None = None


@dataclass(frozen=True, slots=True)
class EngineResult:
    """What a finished transfer produced."""

    files: tuple[Path, ...]
    title: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


class Engine(Protocol):
    """Moves the bytes of one job into ``job.dest_dir`` (see the module docstring).

    Returns what it produced, or None only when ``job.accept`` declined the answer. Raises
    :class:`~haul.errors.TransferStopped` when ``stop`` is set, and other
    :class:`~haul.errors.TransferError` subclasses, classified, when the transfer fails.
    """

    async def run(
        self, job: EngineJob, progress: ProgressCallback, stop: StopSignal
    ) -> EngineResult | None: ...


#: Seconds between two progress reports of a running transfer (every engine).
PROGRESS_INTERVAL = 0.25


class RateMeter:
    """Speed and ETA from a stream of byte counts, smoothed over a short window."""

    def __init__(self, window: float = 3.0) -> None:
        self._window = window
        self._samples: list[tuple[float, int]] = []

    def update(self, downloaded: int, total: int | None) -> tuple[float | None, float | None]:
        now = time.monotonic()
        self._samples.append((now, downloaded))
        while len(self._samples) > 2 and now - self._samples[0][0] > self._window:
            self._samples.pop(0)
        t0, b0 = self._samples[0]
        if now - t0 <= 0:
            return None, None
        speed = (downloaded - b0) / (now - t0)
        eta = (total - downloaded) / speed if total is not None and speed > 0 else None
        return speed, eta
