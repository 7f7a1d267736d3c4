"""Small media files with known facts, for the probe's tests.

Each maker calls ffmpeg (the binary from :func:`tests.support.media.ffmpeg`) with ``lavfi``
sources, so the facts the probe must report (codecs, sizes, channel counts, languages, tags)
are set here on the command line, next to their names. Clips last :data:`SECONDS`; every
subtitle cue ends before that, so the container's duration is the clip's.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from tests.support.media import ffmpeg

SECONDS = 2.0
WIDTH, HEIGHT = 320, 240
YOUTUBE_ID = "aB3_-x9Zq0Y"
YOUTUBE_URL = f"https://www.youtube.com/watch?v={YOUTUBE_ID}&t=5s"

_SRT = "1\n00:00:00,000 --> 00:00:01,000\n{text}\n\n2\n00:00:01,000 --> 00:00:01,800\n{text}\n"
_BITEXACT = ["-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact"]


def _run(args: list[str]) -> None:
    cmd = [ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ffmpeg failed ({done.returncode}): {done.stderr.strip()}")


def _picture() -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc=size={WIDTH}x{HEIGHT}:rate=25:duration={SECONDS}"]


def _tone() -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={SECONDS}"]


_H264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-threads", "1"]


def make_tagged_mp4(dest: Path) -> Path:
    """H.264 320x240 + AAC stereo; the format's ``comment`` holds :data:`YOUTUBE_URL`."""
    args = [*_picture(), *_tone(), "-map", "0:v", "-map", "1:a", *_H264, "-c:a", "aac", "-ac", "2"]
    _run([*args, "-metadata", f"comment={YOUTUBE_URL}", *_BITEXACT, str(dest)])
    return dest


def make_surround_mkv(dest: Path) -> Path:
    """H.264 + 6-channel (5.1) AAC + two SRT subtitles tagged ``eng`` and ``fre``; the
    format's ``PURL`` holds a youtu.be link to :data:`YOUTUBE_ID`."""
    subs = [dest.with_name(f".{dest.stem}.{lang}.srt") for lang in ("eng", "fre")]
    args = [*_picture(), *_tone()]
    for srt in subs:
        srt.write_text(_SRT.format(text=f"A line from {srt.name}."), encoding="utf-8")
        args += ["-i", str(srt)]
    args += ["-map", "0:v", "-map", "1:a", "-map", "2", "-map", "3"]
    args += [*_H264, "-c:a", "aac", "-ac", "6", "-c:s", "srt"]
    args += ["-metadata:s:s:0", "language=eng", "-metadata:s:s:1", "language=fre"]
    try:
        _run([*args, "-metadata", f"purl=https://youtu.be/{YOUTUBE_ID}", *_BITEXACT, str(dest)])
    finally:
        for srt in subs:
            srt.unlink(missing_ok=True)
    return dest


def make_video_only_mp4(dest: Path) -> Path:
    """H.264 320x240, no audio, no tags."""
    _run([*_picture(), *_H264, *_BITEXACT, str(dest)])
    return dest


def make_audio_only(dest: Path) -> Path:
    """Mono audio only: AAC for ``.m4a``, Opus for ``.mka``; ``youtube_id`` tag in Matroska
    (MP4 drops tags it does not know)."""
    codec = ["-c:a", "libopus"] if dest.suffix == ".mka" else ["-c:a", "aac"]
    _run([*_tone(), *codec, "-metadata", f"youtube_id={YOUTUBE_ID}", *_BITEXACT, str(dest)])
    return dest


def make_audio_with_cover(dest: Path) -> Path:
    """AAC mono in M4A with a 64x48 PNG cover stored as an ``attached_pic`` video stream."""
    cover = ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=1:duration=1"]
    args = [*_tone(), *cover, "-map", "0:a", "-map", "1:v", "-frames:v", "1"]
    args += ["-c:a", "aac", "-c:v", "png", "-disposition:v:0", "attached_pic"]
    _run([*args, *_BITEXACT, str(dest)])
    return dest


def make_text(dest: Path) -> Path:
    """A plain text file."""
    dest.write_text("Shopping list:\n- milk\n- bread\n", encoding="utf-8")
    return dest


def make_truncated(source: Path, dest: Path) -> Path:
    """The first half of ``source`` (an MP4 made by ffmpeg keeps its index at the end)."""
    data = source.read_bytes()
    dest.write_bytes(data[: len(data) // 2])
    return dest


def make_garbled(source: Path, dest: Path, keep: int = 64) -> Path:
    """The first ``keep`` bytes of ``source`` (the MP4 ``ftyp`` box), then deterministic noise
    up to ``source``'s size."""
    data = source.read_bytes()
    noise = b"".join(hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(len(data) // 32))
    dest.write_bytes(data[:keep] + noise[: len(data) - keep])
    return dest
