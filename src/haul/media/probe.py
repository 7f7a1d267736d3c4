"""Probe a finished file: container, duration, main streams, subtitle languages, YouTube id.

PyAV opens the file in-process (a few milliseconds); when PyAV cannot read it, ``ffprobe`` (if
installed) gets a second look. Both readers produce the same plain :class:`Reading`, and pure
functions turn it into a :class:`ProbeResult`. A file that is not media, or is broken, is a
result with ``is_media=False`` and a sentence in ``error``, never an exception; only a path
with no file behind it raises :class:`~haul.errors.NotFound`.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import stat
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from haul.errors import NotFound

if TYPE_CHECKING:
    import av

log = logging.getLogger(__name__)

FFPROBE_TIMEOUT = 30.0


@dataclass(frozen=True)
class StreamInfo:
    """One stream as a reader saw it; ``kind`` is video, audio, subtitle, data, attachment."""

    index: int
    kind: str
    codec: str | None
    width: int | None = None
    height: int | None = None
    channels: int | None = None
    language: str | None = None
    default: bool = False
    attached_pic: bool = False  # cover art stored as a one-frame video stream


@dataclass(frozen=True)
class Reading:
    """What a reader found: the raw format name, duration in seconds, format tags, streams."""

    format_name: str
    duration: float | None
    tags: Mapping[str, str]
    streams: tuple[StreamInfo, ...]


@dataclass(frozen=True)
class ProbeResult:
    """What haul knows about a finished file; ``is_media`` False comes with ``error``."""

    path: Path
    file_name: str
    size: int
    mtime: float
    is_media: bool
    error: str | None = None
    container: str | None = None  # short: "mp4", "mkv", "webm", "m4a", "mp3" ...
    format_name: str | None = None  # as FFmpeg names it: "matroska,webm"
    duration: float | None = None
    video_codec: str | None = None
    width: int | None = None
    height: int | None = None
    audio_codec: str | None = None
    channels: int | None = None
    subtitle_languages: tuple[str, ...] = ()
    profile: str | None = None
    youtube_id: str | None = None


_FAMILIES = {  # FFmpeg demuxers that serve several file types, by the extensions they cover
    "matroska": frozenset({"mkv", "mka", "mk3d", "webm"}),
    "mov": frozenset({"mp4", "m4a", "m4v", "m4b", "mov", "3gp", "3g2", "mj2"}),
}
_SHORT = {"matroska": "mkv", "mpegts": "ts", "mpeg": "mpg", "mov": "mp4"}
_MEDIA_SUFFIXES = frozenset(
    {*_FAMILIES["matroska"], *_FAMILIES["mov"], "avi", "ts", "mpg", "flv", "wmv", "mp3", "flac"}
    | {"ogg", "opus", "oga", "ogv", "wav", "aac", "ac3", "wma", "asf"}
    | {"m2ts", "mts", "mpeg", "vob", "mp2", "mka", "dts", "eac3", "ape", "wv", "rm", "rmvb"}
)


def short_container(format_name: str, *, suffix: str = "", brand: str = "") -> str:
    """A short container name: ``matroska,webm`` is ``webm`` for ``.webm``, else ``mkv`` (or
    ``mka``); ``mov,mp4,...`` follows the suffix, else the MP4 ``major_brand``."""
    first = format_name.split(",")[0]
    ext = suffix.lower().lstrip(".")
    if ext in _FAMILIES.get(first, ()):
        return ext
    if first == "mov":
        brand = brand.strip().lower()
        if brand == "qt":
            return "mov"
        if brand in ("m4a", "m4b"):
            return "m4a"
    return _SHORT.get(first, first)


_ID = r"[A-Za-z0-9_-]{11}"
_YOUTUBE_URL = re.compile(
    r"(?:youtube(?:-nocookie)?\.com/(?:watch\?(?:[^\s#]*?&)?v=|(?:shorts|embed|live|v)/)"
    rf"|youtu\.be/)({_ID})(?![A-Za-z0-9_-])",
    re.IGNORECASE,
)
_URL_TAGS = ("youtube_id", "purl", "webpage_url", "url", "comment", "description", "synopsis")


def youtube_id(tags: Mapping[str, str]) -> str | None:
    """The YouTube video id in format tags: a bare id in ``youtube_id``, or a watch/short URL
    in ``purl``, ``comment``, ``description``... (keys in any case, checked in that order)."""
    lowered = {key.lower(): value for key, value in tags.items()}
    bare = lowered.get("youtube_id", "").strip()
    if re.fullmatch(_ID, bare):
        return bare
    for key in _URL_TAGS:
        found = _YOUTUBE_URL.search(lowered.get(key, ""))
        if found:
            return found.group(1)
    return None


def main_stream(streams: Iterable[StreamInfo], kind: str) -> StreamInfo | None:
    """The stream of ``kind`` a player would pick: cover art never, then the default-flagged
    one, then the largest picture or most channels, then the first."""
    candidates = [s for s in streams if s.kind == kind and not s.attached_pic]
    if not candidates:
        return None
    return max(
        candidates,
        key=lambda s: (s.default, (s.width or 0) * (s.height or 0), s.channels or 0, -s.index),
    )


def subtitle_languages(streams: Iterable[StreamInfo]) -> tuple[str, ...]:
    """Subtitle languages in stream order, as tagged; ``und`` for an untagged stream."""
    return tuple((s.language or "").strip() or "und" for s in streams if s.kind == "subtitle")


def not_media_reason(reading: Reading) -> str | None:
    """Why a file FFmpeg can open is still not media (no audio or video, a still image)."""
    video = main_stream(reading.streams, "video")
    audio = main_stream(reading.streams, "audio")
    if video is None and audio is None:
        return f"not a media file: it has no audio or video stream ({reading.format_name})"
    first = reading.format_name.split(",")[0]
    if first == "tty":  # FFmpeg plays any text named .nfo, .txt, .diz ... as ANSI art
        return "not a media file: it is text"
    if audio is None and video is not None and (first == "image2" or first.endswith("_pipe")):
        return f"not a media file: it is a still image ({video.codec})"
    return None


def failure_reason(exc: BaseException, suffix: str) -> str:
    """A sentence for a reader's exception: unreadable file, damaged media, or not media."""
    detail = (getattr(exc, "strerror", None) or str(exc) or "FFmpeg gave no reason").strip(" .")
    if detail[1:2].islower():  # "Invalid data ..." reads on after a colon; "FFmpeg" stays
        detail = detail[:1].lower() + detail[1:]
    if isinstance(exc, OSError):
        return f"cannot read the file: {detail}"
    if suffix.lower().lstrip(".") in _MEDIA_SUFFIXES:
        return f"damaged or incomplete {suffix.lower()} file: {detail}"
    return f"not a media file: {detail}"


def build_result(reading: Reading, base: ProbeResult) -> ProbeResult:
    """``base`` (path, stat facts, profile) completed with what a reader found."""
    reason = not_media_reason(reading)
    if reason is not None:
        return replace(base, is_media=False, error=reason, format_name=reading.format_name)
    video = main_stream(reading.streams, "video")
    audio = main_stream(reading.streams, "audio")
    brand = next((v for k, v in reading.tags.items() if k.lower() == "major_brand"), "")
    return replace(
        base,
        is_media=True,
        container=short_container(reading.format_name, suffix=base.path.suffix, brand=brand),
        format_name=reading.format_name,
        duration=reading.duration,
        video_codec=video.codec if video else None,
        width=video.width if video else None,
        height=video.height if video else None,
        audio_codec=audio.codec if audio else None,
        channels=audio.channels if audio else None,
        subtitle_languages=subtitle_languages(reading.streams),
        youtube_id=youtube_id(reading.tags),
    )


def _stream_info(stream: av.stream.Stream) -> StreamInfo:
    import av

    ctx = stream.codec_context  # None for data streams, whatever the stubs say
    codec = ctx.codec.canonical_name if ctx is not None else None  # "mp3", not "mp3float"
    width = height = channels = None
    if isinstance(stream, av.VideoStream):
        width, height = stream.codec_context.width, stream.codec_context.height
    elif isinstance(stream, av.AudioStream):
        channels = stream.codec_context.channels
    language = stream.metadata.get("language")
    flags = av.stream.Disposition
    default, cover = (bool(stream.disposition & f) for f in (flags.default, flags.attached_pic))
    return StreamInfo(
        stream.index, stream.type, codec, width, height, channels, language, default, cover
    )


#: Bytes FFmpeg looks at to recognise a format in the first, quick look (its default is 1 MiB,
#: which costs about 60 ms on a file that is no media at all: every demuxer is tried on it at
#: growing sizes). Containers say what they are in their first bytes; a file that FFmpeg cannot
#: place within this many gets the full look only when its suffix is a media format's (a raw
#: stream after a large ID3 tag, a transport stream that starts mid-packet may need it).
QUICK_PROBE_BYTES = 32_768


def read_with_pyav(path: Path, *, quick: bool = False) -> Reading:
    """Open ``path`` with PyAV; raises ``av.FFmpegError`` when FFmpeg cannot read it.
    ``quick`` looks at :data:`QUICK_PROBE_BYTES` only to recognise the format."""
    import av  # FFmpeg's libraries (about 20 MiB) are loaded by the first probe, not at start

    options = {"formatprobesize": str(QUICK_PROBE_BYTES)} if quick else None
    with av.open(str(path), metadata_errors="replace", options=options) as container:
        seconds = container.duration / av.time_base if container.duration is not None else None
        streams = tuple(_stream_info(s) for s in container.streams)
        return Reading(container.format.name, seconds, dict(container.metadata), streams)


def _ffprobe_stream(raw: dict[str, Any]) -> StreamInfo:
    flags, tags = raw.get("disposition") or {}, raw.get("tags") or {}
    index, kind, codec = int(raw["index"]), str(raw.get("codec_type")), raw.get("codec_name")
    width, height, channels = raw.get("width"), raw.get("height"), raw.get("channels")
    default, cover = bool(flags.get("default")), bool(flags.get("attached_pic"))
    language = tags.get("language")
    return StreamInfo(index, kind, codec, width, height, channels, language, default, cover)


def read_with_ffprobe(path: Path) -> Reading | None:
    """Ask ``ffprobe`` about ``path``; None when it is not installed or cannot read it either."""
    exe = shutil.which("ffprobe")
    if exe is None:
        return None
    cmd = [exe, "-v", "error", "-print_format", "json", "-show_format", "-show_streams"]
    try:
        cmd.append(str(path.absolute()))  # absolute: a name starting with "-" is no option
        done = subprocess.run(cmd, capture_output=True, timeout=FFPROBE_TIMEOUT, check=False)
        data = json.loads(done.stdout) if done.returncode == 0 else {}
        fmt = data.get("format")
        if not fmt:
            return None
        seconds = float(fmt["duration"]) if "duration" in fmt else None
        tags = {str(k): str(v) for k, v in (fmt.get("tags") or {}).items()}
        streams = tuple(_ffprobe_stream(s) for s in data.get("streams", []))
        return Reading(str(fmt.get("format_name", "")), seconds, tags, streams)
    except (OSError, subprocess.TimeoutExpired, ValueError, KeyError, AttributeError) as exc:
        log.warning("ffprobe could not describe %s: %s", path, exc)
        return None


def unread(path: Path, profile: str | None = None) -> tuple[ProbeResult, int]:
    """What is known of ``path`` before it is read (not media, until a reader says so), and
    its file mode; :class:`~haul.errors.NotFound` when no file is there."""
    try:
        info = path.stat()
    except OSError as exc:
        raise NotFound(f"Cannot probe {path}: {(exc.strerror or str(exc)).lower()}.") from exc
    base = ProbeResult(path, path.name, info.st_size, info.st_mtime, False, profile=profile)
    return base, info.st_mode


def probe_file(
    path: Path | str, *, profile: str | None = None, fallback: bool = True
) -> ProbeResult:
    """Probe ``path`` (blocking: run it in a thread). ``profile`` is only recorded. A file that
    FFmpeg cannot place quickly is looked at fully only when its suffix is a media format's;
    then ``fallback`` asks ffprobe when PyAV cannot read it either."""
    import av

    path = Path(path)
    base, mode = unread(path, profile)
    if not stat.S_ISREG(mode):
        return replace(base, error="not a media file: it is not a regular file")
    try:
        return build_result(read_with_pyav(path, quick=True), base)
    except av.FFmpegError as exc:
        if path.suffix.lower().lstrip(".") not in _MEDIA_SUFFIXES:
            return replace(base, error=failure_reason(exc, path.suffix))
    try:
        return build_result(read_with_pyav(path), base)
    except av.FFmpegError as exc:
        reading = None
        if fallback and not isinstance(exc, OSError):
            reading = read_with_ffprobe(path)
        if reading is None:
            return replace(base, error=failure_reason(exc, path.suffix))
        log.info("PyAV could not read %s (%s); used ffprobe", path, exc)
        return build_result(reading, base)
