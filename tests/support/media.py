"""Test media made with ffmpeg at test time.

Every file is made from ffmpeg's ``lavfi`` sources (``testsrc`` picture, ``sine`` tone) with
bit-exact flags and one encoder thread, so the same call always writes the same bytes: a
session-scoped fixture makes them once and any test may compare checksums. Each maker writes
through a temporary name and renames, so a reader never sees half a file.

The pages are tiny HTML documents that yt-dlp's generic extractor understands: one ``<video>``
is a single media item, two are a playlist, none is ``Unsupported URL``.
"""

from __future__ import annotations

import hashlib
import html
import json
import shutil
import subprocess
from pathlib import Path

YOUTUBE_ID = "dQw4w9WgXcQ"
TITLE = "Haul test clip"
SIZE = "320x240"
RATE = 25

_SRT = """1
00:00:00,000 --> 00:00:02,500
Hello from haul.

2
00:00:03,000 --> 00:00:06,000
This line is a subtitle.
"""

_VTT = """WEBVTT

00:00:00.000 --> 00:00:02.500
Hello from haul.

00:00:03.000 --> 00:00:06.000
This line is a subtitle.
"""

# Bit-exact output: no encoder version strings, no random UIDs, one x264 thread.
_BITEXACT = ["-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact"]


def ffmpeg() -> str:
    """The path of ffmpeg, or a clear failure when it is not installed."""
    path = shutil.which("ffmpeg")
    if path is None:
        raise RuntimeError("ffmpeg is not installed: apt-get install -y ffmpeg")
    return path


def _run(args: list[str]) -> None:
    cmd = [ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ffmpeg failed ({done.returncode}): {done.stderr.strip()}")


def _sources(seconds: float, audio: bool) -> list[str]:
    args = ["-f", "lavfi", "-i", f"testsrc=size={SIZE}:rate={RATE}:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}"]
    return args


def _codecs(audio: bool) -> list[str]:
    args = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-b:v", "200k"]
    args += ["-threads", "1", "-metadata:s:v:0", "language=eng"]
    if audio:
        args += ["-c:a", "aac", "-b:a", "64k", "-metadata:s:a:0", "language=eng"]
    return args


def _make_av(
    dest: Path,
    seconds: float,
    *,
    audio: bool,
    subtitles: bool,
    youtube_id: str | None,
    title: str,
    subtitle_codec: str,
) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    args = _sources(seconds, audio)
    maps = ["-map", "0:v"] + (["-map", "1:a"] if audio else [])
    srt = dest.with_name(dest.name + ".srt")
    if subtitles:
        srt.write_text(_SRT, encoding="utf-8")
        args += ["-i", str(srt)]
        maps += ["-map", f"{2 if audio else 1}:s"]
    args += maps + _codecs(audio)
    if subtitles:
        args += ["-c:s", subtitle_codec, "-metadata:s:s:0", "language=eng"]
    args += ["-metadata", f"title={title}"]
    if youtube_id:
        args += ["-metadata", f"comment=https://www.youtube.com/watch?v={youtube_id}"]
    tmp = dest.with_name(f".{dest.name}.tmp{dest.suffix}")
    args += [*_BITEXACT, str(tmp)]
    try:
        _run(args)
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)
        srt.unlink(missing_ok=True)
    return dest


def make_mp4(
    dest: Path,
    seconds: float = 10,
    *,
    audio: bool = True,
    subtitles: bool = True,
    youtube_id: str | None = YOUTUBE_ID,
    title: str = TITLE,
) -> Path:
    """An H.264/AAC MP4 (320x240, ~250 kbit/s) with an English ``mov_text`` subtitle.

    Streams carry ``language=eng``; the format carries ``title`` and a ``comment`` holding a
    YouTube watch URL (``youtube_id=None`` leaves it out). 10 s is about 320 kB, made in 0.3 s.
    """
    return _make_av(
        dest,
        seconds,
        audio=audio,
        subtitles=subtitles,
        youtube_id=youtube_id,
        title=title,
        subtitle_codec="mov_text",
    )


def make_mkv(
    dest: Path,
    seconds: float = 10,
    *,
    audio: bool = True,
    subtitles: bool = True,
    youtube_id: str | None = YOUTUBE_ID,
    title: str = TITLE,
) -> Path:
    """The same clip as :func:`make_mp4` in Matroska, with an SRT (``subrip``) subtitle."""
    return _make_av(
        dest,
        seconds,
        audio=audio,
        subtitles=subtitles,
        youtube_id=youtube_id,
        title=title,
        subtitle_codec="srt",
    )


def make_hls(dest_dir: Path, seconds: float = 10, *, name: str = "index.m3u8") -> Path:
    """A VOD HLS stream of 2 s MPEG-TS segments (5 for 10 s); returns the playlist path.

    Segments are ``seg0.ts`` ... next to the playlist, referenced by relative URLs, so the
    whole directory can be served under any prefix.
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    playlist = dest_dir / name
    args = [*_sources(seconds, True), *_codecs(True), "-g", str(2 * RATE)]
    args += ["-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod"]
    args += ["-hls_segment_filename", str(dest_dir / "seg%d.ts"), *_BITEXACT, str(playlist)]
    _run(args)
    return playlist


#: The variants of :func:`make_hls_variants`: (name, width, height, bandwidth in bit/s).
VARIANTS = (("240p", 320, 240, 300_000), ("120p", 160, 120, 150_000))


def make_hls_variants(dest_dir: Path, seconds: float = 4) -> Path:
    """An HLS master playlist with two variants of one clip (:data:`VARIANTS`: 320x240 and
    160x120, H.264/AAC, each in its own folder); returns the master playlist's path. yt-dlp
    lists them as the formats ``300`` and ``150`` (the bandwidth in kbit/s).
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    lines = ["#EXTM3U", "#EXT-X-VERSION:3"]
    for name, width, height, bandwidth in VARIANTS:
        folder = dest_dir / name
        folder.mkdir(exist_ok=True)
        args = [
            "-f",
            "lavfi",
            "-i",
            f"testsrc=size={width}x{height}:rate={RATE}:duration={seconds}",
        ]
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}"]
        args += [*_codecs(True), "-g", str(2 * RATE), "-f", "hls", "-hls_time", "2"]
        args += ["-hls_playlist_type", "vod", "-hls_segment_filename", str(folder / "seg%d.ts")]
        _run([*args, *_BITEXACT, str(folder / "index.m3u8")])
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},RESOLUTION={width}x{height},"
            'CODECS="avc1.42c00d,mp4a.40.2"'
        )
        lines.append(f"{name}/index.m3u8")
    master = dest_dir / "master.m3u8"
    master.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return master


def make_jpeg(dest: Path) -> Path:
    """A 160x120 JPEG picture of the test pattern (a page's thumbnail)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp{dest.suffix}")
    try:
        source = ["-f", "lavfi", "-i", "testsrc=size=160x120:rate=1:duration=1"]
        _run([*source, "-frames:v", "1", *_BITEXACT, str(tmp)])
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def make_broken(dest: Path, size: int = 64 * 1024) -> Path:
    """Deterministic bytes that are no media at all, under whatever name ``dest`` has."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    chunks = [b"this is not a video\n"]
    counter = 0
    while sum(map(len, chunks)) < size:
        chunks.append(hashlib.sha256(counter.to_bytes(8, "big")).digest())
        counter += 1
    dest.write_bytes(b"".join(chunks)[:size])
    return dest


def make_vtt(dest: Path) -> Path:
    """A small WebVTT file with two cues (for a page's ``<track>``)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(_VTT, encoding="utf-8")
    return dest


def sha256(path: Path) -> str:
    """The hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def _video_tag(
    video_url: str, track_url: str | None, content_type: str, poster_url: str | None = None
) -> str:
    poster = f' poster="{html.escape(poster_url)}"' if poster_url is not None else ""
    track = ""
    if track_url is not None:
        track = (
            f'\n    <track kind="subtitles" src="{html.escape(track_url)}" srclang="en"'
            ' label="English">'
        )
    return (
        f'  <video controls width="320" height="240"{poster}>\n'
        f'    <source src="{html.escape(video_url)}" type="{content_type}">{track}\n'
        "  </video>"
    )


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n  <meta charset="utf-8">\n'
        f"  <title>{html.escape(title)}</title>\n</head>\n<body>\n"
        f"  <h1>{html.escape(title)}</h1>\n{body}\n</body>\n</html>\n"
    )


def page_with_video(
    video_url: str,
    track_url: str | None = None,
    title: str = TITLE,
    *,
    content_type: str = "video/mp4",
    poster_url: str | None = None,
) -> str:
    """A page with one ``<video>`` (and a ``<track>`` when given): one media item for yt-dlp;
    its ``poster`` picture, when given, is what yt-dlp calls the video's thumbnail."""
    return _page(title, _video_tag(video_url, track_url, content_type, poster_url))


def page_with_two_videos(url1: str, url2: str, title: str = "Two haul clips") -> str:
    """A page with two ``<video>`` tags: a playlist of two entries for yt-dlp."""
    return page_with_videos([url1, url2], title)


def page_with_videos(urls: list[str], title: str = "A haul channel") -> str:
    """A page with a ``<video>`` tag per URL: a playlist of that many entries for yt-dlp
    (entry N's id is the page's name and N: a video added at the end is a new entry)."""
    tags = [_video_tag(url, None, "video/mp4") for url in urls]
    return _page(title, "\n".join(tags))


def page_with_metadata(
    video_url: str,
    *,
    title: str,
    uploader: str,
    thumbnail_url: str | None = None,
    description: str | None = None,
) -> str:
    """A page describing one video in JSON-LD (a ``VideoObject`` with a name and an author,
    and a thumbnail and a description when given), which yt-dlp's generic extractor reads as
    the video's title and uploader exactly as written (the ``<video>`` tag extractor would
    add `` (1)`` to the title)."""
    data: dict[str, object] = {
        "@context": "https://schema.org",
        "@type": "VideoObject",
        "name": title,
        "author": {"@type": "Person", "name": uploader},
        "contentUrl": video_url,
        "uploadDate": "2024-01-01",
    }
    if thumbnail_url is not None:
        data["thumbnailUrl"] = thumbnail_url
    if description is not None:
        data["description"] = description
    script = json.dumps(data).replace("</", "<\\/")
    return _page("A page", f'  <script type="application/ld+json">{script}</script>')


def page_without_media(title: str = "Nothing to see") -> str:
    """A page with text and a link but no media: yt-dlp says ``Unsupported URL``."""
    return _page(title, '  <p>Just words here, and <a href="/elsewhere">a link</a>.</p>')


__all__ = [
    "TITLE",
    "YOUTUBE_ID",
    "make_broken",
    "make_hls",
    "make_hls_variants",
    "make_jpeg",
    "make_mkv",
    "make_mp4",
    "make_vtt",
    "page_with_metadata",
    "page_with_two_videos",
    "page_with_video",
    "page_with_videos",
    "page_without_media",
    "sha256",
]
