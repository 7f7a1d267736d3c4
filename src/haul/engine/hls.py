"""Recording a live HLS stream: haul's own segment appender.

A live stream is an HLS media playlist without ``#EXT-X-ENDLIST`` that keeps growing. The
recorder reads it again every half target duration and appends each new segment, in order, to
one MPEG-TS file in the job's work folder (``live.ts``). MPEG-TS is playable at any cut, so the
recording is a usable file at every moment: when it ends it is remuxed (no re-encoding) into
the profile's container, ``mp4`` unless the profile says otherwise, named after the stream and
the time the recording began (``Channel (2026-12-07 20-15).mp4``). A profile (or a download)
that asks for audio only gets the sound alone, converted to its audio format and quality
(:func:`audio_args`): ``Channel (2026-12-07 20-15).mp3``. The stream's name (:func:`stem`) is
the recording's title from its start.

A recording ends (``ended_by`` in its result, one of :data:`ENDED_BY`)

- when the user stops it (:class:`~haul.engine.base.StopSignal` with reason ``finish``): the
  segment being fetched is dropped, what was recorded is kept and finished like any download;
- when the stream ends by itself: ``#EXT-X-ENDLIST`` appears, or the server stops answering or
  stops adding segments for longer than ``hiccup`` seconds (a shorter outage is waited out);
- at ``max_duration`` seconds of media, when one is given.

Any other stop (pause, cancel, shutdown) raises :class:`~haul.errors.TransferStopped` and
leaves ``live.ts`` and its ``live.json`` (the last segment appended) where they are: a later
attempt appends to them from the live edge, skipping what was recorded already. Every request
goes through the address guard.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import shutil
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from haul.core.cookies import SiteCookies
from haul.engine.base import (
    EngineJob,
    EngineResult,
    Progress,
    ProgressCallback,
    RateMeter,
    StopSignal,
)
from haul.engine.http_errors import (
    disk_error,
    network_error,
    proxy_answer,
    proxy_network_error,
    status_error,
)
from haul.engine.stopwatch import until_stopped
from haul.errors import (
    AddressRefused,
    PermanentTransferError,
    TransferStopped,
    TransientTransferError,
)
from haul.net import guard

log = logging.getLogger(__name__)

T = TypeVar("T")

#: The recording in the work folder, and what it holds so far.
RECORDING = "live.ts"
STATE = "live.json"
#: How a recording ended: the user stopped it, it reached its maximum length, the stream said it
#: was over (or its playlist went away), or the stream stopped answering or growing.
ENDED_BY = ("user", "max_duration", "stream_ended", "stream_quiet")
#: The audio formats haul converts a recording to: ffmpeg's encoder and the file's extension
#: (``best`` keeps the stream's own sound: see :func:`audio_args`).
AUDIO_CODECS = {
    "mp3": ("libmp3lame", "mp3"),
    "m4a": ("aac", "m4a"),
    "opus": ("libopus", "opus"),
    "flac": ("flac", "flac"),
    "wav": ("pcm_s16le", "wav"),
}
#: A VBR level (0 best .. 10 smallest) as a bitrate in kbit/s, for encoders without a VBR
#: scale of their own (aac, opus).
LEVEL_BITRATES = (256, 224, 192, 176, 160, 128, 112, 96, 80, 64, 48)
#: The stream's own audio codecs ``best`` copies as they are, and the file that holds each.
COPIED_AUDIO = {"aac": "m4a", "mp3": "mp3", "opus": "opus", "flac": "flac"}
#: Seconds a silent or unchanging stream is waited for before the recording ends.
HICCUP = 30.0
#: Answers that say a playlist or a segment is gone (not refused).
GONE = frozenset({"http_404", "http_410"})
#: Largest playlist read (a live playlist is a few kilobytes).
MAX_PLAYLIST = 4 * 1024 * 1024

_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


@dataclass(frozen=True, slots=True)
class Segment:
    sequence: int
    duration: float
    url: str


@dataclass(frozen=True, slots=True)
class MediaPlaylist:
    """What one reading of a media playlist says."""

    segments: tuple[Segment, ...]
    target: float
    ended: bool
    #: The URL of an initialisation section (``#EXT-X-MAP``, fragmented MP4), if any.
    init: str | None = None

    @property
    def live(self) -> bool:
        return not self.ended


def is_master(text: str) -> bool:
    return "#EXT-X-STREAM-INF" in text


def parse_master(text: str, base: str) -> str | None:
    """The URL of the variant with the highest bandwidth of a master playlist."""
    best: tuple[int, str] | None = None
    bandwidth: int | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#EXT-X-STREAM-INF:"):
            attrs = dict(_ATTRIBUTE.findall(line.partition(":")[2]))
            value = attrs.get("BANDWIDTH", "0")
            bandwidth = int(value) if value.isdigit() else 0
        elif line and not line.startswith("#") and bandwidth is not None:
            if best is None or bandwidth > best[0]:
                best = (bandwidth, urljoin(base, line))
            bandwidth = None
    return None if best is None else best[1]


def parse_media(text: str, base: str) -> MediaPlaylist:
    """Read a media playlist; what haul cannot record raises a permanent error."""
    if not text.lstrip("\ufeff").startswith("#EXTM3U"):
        raise PermanentTransferError(f"{base} is not an HLS playlist.", code="not_hls")
    sequence = 0
    target = 6.0
    ended = False
    init: str | None = None
    duration: float | None = None
    segments: list[Segment] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            sequence = _int(line.partition(":")[2], 0)
        elif line.startswith("#EXT-X-TARGETDURATION:"):
            target = float(_int(line.partition(":")[2], 6)) or 6.0
        elif line.startswith("#EXT-X-ENDLIST") or line == "#EXT-X-PLAYLIST-TYPE:VOD":
            ended = True
        elif line.startswith("#EXTINF:"):
            value = line.partition(":")[2].split(",", 1)[0]
            try:
                duration = float(value)
            except ValueError:
                duration = target
        elif line.startswith("#EXT-X-KEY:") and "METHOD=NONE" not in line:
            raise PermanentTransferError(
                "This live stream is encrypted; haul records only unencrypted HLS streams.",
                code="hls_encrypted",
            )
        elif line.startswith("#EXT-X-BYTERANGE"):
            raise PermanentTransferError(
                "This live stream uses byte ranges of files, which haul cannot record.",
                code="hls_unsupported",
            )
        elif line.startswith("#EXT-X-MAP:"):
            uri = dict(_ATTRIBUTE.findall(line.partition(":")[2])).get("URI", "").strip('"')
            init = urljoin(base, uri) if uri else None
        elif not line.startswith("#"):
            segments.append(Segment(sequence, duration or 0.0, urljoin(base, line)))
            sequence += 1
            duration = None
    return MediaPlaylist(tuple(segments), target, ended, init)


def _int(value: str, default: int) -> int:
    value = value.strip()
    return int(value) if value.isdigit() else default


@dataclass
class _State:
    """What the recording in the work folder holds: kept beside it as JSON."""

    last: int | None = None  # the media sequence number of the last segment appended
    seconds: float = 0.0
    segments: int = 0
    playlist: str | None = None
    #: When the recording began (local time, as its file name says it).
    started: str | None = None

    @classmethod
    def read(cls, path: Path) -> _State:
        try:
            raw = json.loads(path.read_text())
            return cls(
                raw.get("last"),
                float(raw.get("seconds", 0.0)),
                int(raw.get("segments", 0)),
                raw.get("playlist"),
                raw.get("started"),
            )
        except (OSError, ValueError, TypeError, AttributeError):
            return cls()

    def write(self, path: Path) -> None:
        data = {
            "last": self.last,
            "seconds": self.seconds,
            "segments": self.segments,
            "playlist": self.playlist,
            "started": self.started,
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(path)


@dataclass(frozen=True, slots=True)
class _Net:
    """How one recording reaches its stream: the guarded client, or a client of the profile's
    proxy, and the owner's site cookies (each request only those of its own site)."""

    client: httpx.AsyncClient
    cookies: SiteCookies | None = None
    own: bool = False  # a client made for this recording, closed with it
    proxy: str | None = None  # the profile's, which the client goes through

    def headers(self, url: str) -> dict[str, str]:
        sent = self.cookies.header(url) if self.cookies is not None else None
        return {"Cookie": sent} if sent else {}

    async def aclose(self) -> None:
        if self.own:
            await self.client.aclose()


class LiveRecorder:
    """Records live HLS streams (see the module docstring) with ``http``, a client whose
    transport checks every connection against the address policy (haul's shared one).

    ``hiccup``: seconds a stream that stops answering, or stops growing, is waited for before
    the recording ends with what it has. ``max_duration``: seconds of media after which a
    recording ends (None: no limit; a job's ``max_duration`` hint overrides it). ``ffmpeg``:
    the program that remuxes the recording (None or missing: it is kept as MPEG-TS).
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        hiccup: float = HICCUP,
        max_duration: float | None = None,
        ffmpeg: str | None = "ffmpeg",
        timeout: float = 15.0,
    ) -> None:
        self.hiccup = hiccup
        self.max_duration = max_duration
        self._ffmpeg = ffmpeg
        self._http = http
        self._timeout = httpx.Timeout(timeout)

    # -- is it live? ---------------------------------------------------------------------

    def _net(self, cookies: SiteCookies | None, proxy: str | None) -> _Net:
        if proxy is None:
            return _Net(self._http, cookies)
        # Through a proxy the proxy connects: the address guard has nothing to check.
        return _Net(httpx.AsyncClient(proxy=proxy), cookies, own=True, proxy=proxy)

    async def live_playlist(
        self, url: str, cookies: SiteCookies | None = None, proxy: str | None = None
    ) -> str | None:
        """The URL of the live media playlist ``url`` leads to (a master playlist's best
        variant); None when it is not a live HLS stream (a finished one, a DASH manifest)."""
        net = self._net(cookies, proxy)
        try:
            return await self._live_playlist(url, net)
        finally:
            await net.aclose()

    async def _live_playlist(self, url: str, net: _Net) -> str | None:
        text, final = await self._get_text(url, net)
        if is_master(text):
            variant = parse_master(text, final)
            if variant is None:
                return None
            text, final = await self._get_text(variant, net)
        if not text.lstrip("\ufeff").startswith("#EXTM3U") or is_master(text):
            return None
        return final if parse_media(text, final).live else None

    # -- recording -----------------------------------------------------------------------

    async def run(
        self, job: EngineJob, progress: ProgressCallback, stop: StopSignal
    ) -> EngineResult:
        net = self._net(job.cookies, job.proxy)
        try:
            return await self._record(job, progress, stop, net)
        finally:
            await net.aclose()

    async def _record(
        self, job: EngineJob, progress: ProgressCallback, stop: StopSignal, net: _Net
    ) -> EngineResult:
        playlist_url = str(job.hints.get("playlist") or job.url)
        max_duration = job.hints.get("max_duration", self.max_duration)
        work = job.dest_dir
        work.mkdir(parents=True, exist_ok=True)
        recording = work / RECORDING
        state_path = work / STATE
        state = _State.read(state_path) if recording.exists() else _State()
        state.playlist = playlist_url
        state.started = state.started or datetime.now().strftime("%Y-%m-%d %H-%M")
        name = stem(job.hints.get("title"), job.url)
        meter = RateMeter()
        size = recording.stat().st_size if recording.exists() else 0
        notices: list[str] = []

        def report(notice: str | None = None) -> None:
            speed, _ = meter.update(size, None)
            progress(
                Progress(
                    downloaded_bytes=size,
                    speed=speed,
                    filename=name,
                    fragment_index=state.segments or None,
                    notice=notice,
                    live=True,
                    recorded_seconds=round(state.seconds, 3),
                )
            )

        report()
        quiet_since: float | None = None  # when the stream last failed or stopped growing
        ended_by = "stream_ended"
        try:
            while True:
                if self._finishing(stop):
                    ended_by = "user"
                    break
                if max_duration is not None and state.seconds >= float(max_duration):
                    ended_by = "max_duration"
                    break
                try:
                    media = await self._media(playlist_url, stop, net)
                except (TransientTransferError, PermanentTransferError) as exc:
                    if not exc.transient and (exc.code not in GONE or state.segments == 0):
                        raise
                    # A server that fails, or says the playlist is gone once something was
                    # recorded (a channel going off the air): waited for, then the end.
                    quiet_since = quiet_since or time.monotonic()
                    if time.monotonic() - quiet_since >= self.hiccup:
                        if state.segments == 0:
                            raise
                        notices.append(f"The stream stopped answering ({exc.message}).")
                        ended_by = "stream_quiet"
                        break
                    await self._pause(1.0, stop)
                    continue
                if (
                    media.segments
                    and state.last is not None
                    and media.segments[-1].sequence < state.last
                ):
                    state.last = None  # the stream started again, numbered from the start
                new = [s for s in media.segments if state.last is None or s.sequence > state.last]
                missed = False
                if state.last is None and media.live and len(new) > 3:
                    new = new[-3:]  # start near the live edge, as players do
                for segment in new:
                    if self._finishing(stop) or (
                        max_duration is not None and state.seconds >= float(max_duration)
                    ):
                        break
                    data = await self._segment(segment, media, state, stop, net)
                    if data is None:
                        missed = True  # it stayed away: the playlist is read again
                        break
                    if not data:
                        continue  # gone for good (404): skipped
                    try:
                        with recording.open("ab") as out:
                            if size == 0 and media.init is not None:
                                init = await self._bytes(media.init, stop, net)
                                out.write(init)
                                size += len(init)
                            out.write(data)
                        size += len(data)
                        state.last = segment.sequence
                        state.seconds += segment.duration
                        state.segments += 1
                        state.write(state_path)
                    except OSError as exc:
                        raise disk_error(exc, recording) from exc
                    quiet_since = None
                    report()
                    if job.throttle is not None:  # the speed limits (engine/bandwidth.py)
                        await job.throttle.take(len(data), stop)
                if max_duration is not None and state.seconds >= float(max_duration):
                    ended_by = "max_duration"
                    break
                if self._finishing(stop):
                    ended_by = "user"
                    break
                if media.ended and (
                    missed or not media.segments or state.last == media.segments[-1].sequence
                ):
                    break  # the broadcast is over (a last segment that stays away: without it)
                if not new:
                    quiet_since = quiet_since or time.monotonic()
                    if time.monotonic() - quiet_since >= max(self.hiccup, 3 * media.target):
                        notices.append("The stream stopped adding segments.")
                        ended_by = "stream_quiet"
                        break
                await self._pause(max(0.5, media.target / 2), stop)
        except _Finishing:
            ended_by = "user"
        if self._stopped_otherwise(stop):
            raise TransferStopped(f"Stopped ({stop.reason}).")
        if size == 0 or state.segments == 0:
            if ended_by == "user":
                raise PermanentTransferError(
                    "The recording was stopped before anything of the stream was recorded.",
                    code="nothing_recorded",
                )
            raise TransientTransferError(
                f"Nothing was recorded of the live stream at {job.url}.", code="nothing_recorded"
            )
        for notice in notices:
            report(notice)
        final = await self._finish(job, recording, state)
        meta: dict[str, Any] = {
            "live": True,
            "recorded_seconds": round(state.seconds, 3),
            "segments": state.segments,
            "ended_by": ended_by,
            "stopped": ended_by == "user",
        }
        return EngineResult(files=(final,), title=job.hints.get("title") or name, meta=meta)

    @staticmethod
    def _finishing(stop: StopSignal) -> bool:
        return stop.reason == "finish"

    @staticmethod
    def _stopped_otherwise(stop: StopSignal) -> bool:
        return stop.is_set() and stop.reason != "finish"

    async def _pause(self, seconds: float, stop: StopSignal) -> None:
        """Wait ``seconds``, or less when the job is told to stop (any reason)."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if stop.is_set() or left <= 0:
                break
            await asyncio.sleep(min(0.1, left))
        if self._stopped_otherwise(stop):
            raise TransferStopped(f"Stopped ({stop.reason}).")

    async def _media(self, url: str, stop: StopSignal, net: _Net) -> MediaPlaylist:
        text, final = await self._until_stopped(self._get_text(url, net), stop)
        if is_master(text):
            raise PermanentTransferError(
                f"{url} stopped being a media playlist.", code="hls_unsupported"
            )
        return parse_media(text, final)

    async def _segment(
        self,
        segment: Segment,
        media: MediaPlaylist,
        state: _State,
        stop: StopSignal,
        net: _Net,
    ) -> bytes | None:
        """A segment's bytes, tried again for a few seconds on a transient failure; None
        when it stays away (the stream moved on, or is down: the caller reads the playlist)."""
        tries = max(2, int(min(self.hiccup, media.target * 2)))
        for attempt in range(tries):
            try:
                return await self._bytes(segment.url, stop, net)
            except TransientTransferError as exc:
                log.info("segment %s failed (%s), try %d", segment.sequence, exc, attempt + 1)
                await self._pause(1.0, stop)
            except PermanentTransferError as exc:
                if exc.code not in GONE:
                    raise  # refused (an address haul does not connect to, 403...): it fails
                log.info("segment %s skipped: %s", segment.sequence, exc)  # the stream goes on
                state.last = segment.sequence
                return b""
        return None

    async def _until_stopped(self, work: Awaitable[T], stop: StopSignal) -> T:
        """Await ``work`` (a request), dropping it at once when the job is told to stop."""

        def stopped() -> Exception:
            if self._finishing(stop):
                return _Finishing()
            return TransferStopped(f"Stopped ({stop.reason}).")

        return await until_stopped(work, stop, stopped)

    async def _bytes(self, url: str, stop: StopSignal, net: _Net) -> bytes:
        return await self._until_stopped(self._get(url, net), stop)

    async def _get(self, url: str, net: _Net) -> bytes:
        return (await self._response(url, net)).content

    async def _get_text(self, url: str, net: _Net) -> tuple[str, str]:
        response = await self._response(url, net)
        if len(response.content) > MAX_PLAYLIST:
            raise PermanentTransferError(f"The playlist at {url} is too large.", code="not_hls")
        return response.content.decode("utf-8", "replace"), str(response.url)

    async def _response(self, url: str, net: _Net) -> httpx.Response:
        """A GET of ``url``: its network, guard and status failures become haul's."""
        try:
            response = await net.client.get(url, headers=net.headers(url), timeout=self._timeout)
        except httpx.HTTPError as exc:
            failed = proxy_network_error(exc, net.proxy) if net.proxy else None
            raise (failed or network_error(exc, url)) from exc
        except AddressRefused as exc:
            raise guard.reworded(exc, url) from exc
        if response.status_code == 407 and net.proxy:
            raise proxy_answer(net.proxy, 407, response.reason_phrase)
        if response.status_code >= 400:
            raise status_error(response)
        return response

    async def _finish(self, job: EngineJob, recording: Path, state: _State) -> Path:
        """Remux the recording into the profile's container beside it, or for audio only
        convert its sound to the profile's audio format (``live.ts`` goes); when that fails
        (a stream without sound, say) the MPEG-TS recording itself is the result."""
        container = (job.profile.container or "mp4").lower()
        audio = job.profile.audio_format
        name = f"{stem(job.hints.get('title'), job.url)} ({state.started})"
        ffmpeg = shutil.which(self._ffmpeg) if self._ffmpeg else None
        if ffmpeg is None:
            return _kept(recording, f"{name}.ts")
        args = [ffmpeg, "-nostdin", "-v", "error", "-y", "-i", str(recording)]
        if audio:
            codec = await self._audio_codec(recording) if audio == "best" else None
            extension, convert = audio_args(audio, job.profile.audio_quality, codec)
            final = recording.with_name(f"{name}.{extension}")
            args += ["-map", "0:a:0", "-vn", "-sn", "-dn", *convert]
        else:
            final = recording.with_name(f"{name}.{container}")
            args += ["-map", "0:v?", "-map", "0:a?", "-c", "copy"]
            if container in ("mp4", "m4a", "mov"):
                args += ["-bsf:a", "aac_adtstoasc", "-movflags", "+faststart"]
        args.append(str(final))
        proc = await asyncio.create_subprocess_exec(
            *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        _, err = await proc.communicate()
        if proc.returncode != 0:
            log.warning("remuxing the recording failed, kept as MPEG-TS: %s", err.decode()[-500:])
            _remove(final)
            return _kept(recording, f"{name}.ts")
        _remove(recording, recording.parent / STATE)
        return final

    async def _audio_codec(self, recording: Path) -> str | None:
        """The codec of the recording's first audio stream, as ffprobe names it (None: no
        ffprobe beside ffmpeg, or no audio)."""
        ffmpeg = shutil.which(self._ffmpeg) if self._ffmpeg else None
        probe = shutil.which(str(Path(ffmpeg).with_name("ffprobe"))) if ffmpeg else None
        probe = probe or shutil.which("ffprobe")
        if probe is None:
            return None
        proc = await asyncio.create_subprocess_exec(
            *[probe, "-v", "error", "-select_streams", "a:0", "-show_entries"],
            *["stream=codec_name", "-of", "default=noprint_wrappers=1:nokey=1", str(recording)],
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        out, _ = await proc.communicate()
        found = out.decode("ascii", "replace").strip().splitlines()
        return found[0].strip() if proc.returncode == 0 and found else None


def audio_args(audio: str, quality: str | None, codec: str | None) -> tuple[str, list[str]]:
    """The extension and ffmpeg's output options that make a recording's sound alone in the
    audio format ``audio`` (see :data:`haul.core.profiles.AUDIO_FORMATS`) at ``quality``:
    a VBR level from 0 (best) to 10 (smallest) or a bitrate such as ``192K``; None: level 5,
    as yt-dlp does. mp3 takes the level as LAME's (``-q:a``, 0 to 9); aac and opus take it as
    a bitrate (:data:`LEVEL_BITRATES`); flac and wav are lossless and take none. ``best``
    copies the stream's own sound (``codec``) into the file that holds it (aac: ``.m4a``),
    else into Matroska audio (``.mka``)."""
    if audio == "best":
        extension = COPIED_AUDIO.get(codec or "", "mka")
        copy = ["-c:a", "copy"]
        if extension == "m4a":
            copy += ["-bsf:a", "aac_adtstoasc", "-movflags", "+faststart"]
        return extension, copy
    encoder, extension = AUDIO_CODECS[audio]
    args = ["-c:a", encoder]
    level = quality if quality is not None and quality.isdigit() else None
    if quality is None:
        level = "5"
    if encoder in ("flac", "pcm_s16le"):
        pass
    elif level is None:
        args += ["-b:a", f"{int(str(quality).rstrip('kK'))}k"]
    elif encoder == "libmp3lame":
        args += ["-q:a", str(min(int(level), 9))]
    else:
        args += ["-b:a", f"{LEVEL_BITRATES[min(int(level), 10)]}k"]
    if extension == "m4a":
        args += ["-movflags", "+faststart"]
    return extension, args


def _kept(recording: Path, name: str) -> Path:
    """The MPEG-TS recording itself, renamed, as the result."""
    final = recording.with_name(name)
    recording.replace(final)
    _remove(recording.parent / STATE)
    return final


def _remove(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


class _Finishing(Exception):
    """A request dropped because the user stopped the recording (not an error)."""


def stem(title: object, url: str) -> str:
    """A file name stem for the recording: its title, else the stream's name in its URL."""
    text = str(title) if title else unquote(Path(urlsplit(url).path).stem) or "live"
    text = re.sub(r'[\x00-\x1f/\\:*?"<>|]+', "_", text).strip(" .") or "live"
    return text[:150]
