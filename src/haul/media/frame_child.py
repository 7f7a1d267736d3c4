"""The frame child: ``python -P -m haul.media.frame_child PATH WIDTH``.

It writes one picture of the media file at ``PATH`` to stdout as a JPEG: the file's cover
picture when it has one (an attached picture stream, as yt-dlp embeds a thumbnail), otherwise
a frame of its video a tenth of the way in (at most a minute), scaled to ``WIDTH`` pixels
wide. It exits 0 with the picture, 1 with nothing on stdout when the file has neither (or
cannot be read). FFmpeg reads the file here, in a process of its own, for the reasons
:mod:`haul.media.prober` gives; :mod:`haul.media.frames` is the other side.
"""

from __future__ import annotations

import logging
import os
import sys
from fractions import Fraction

import av
import av.error

log = logging.getLogger(__name__)

#: The most pixels wide a cover picture may be sent as it is (a larger one is scaled too).
COVER_BYTES = 2 * 1024 * 1024
#: Frames decoded at most, after the seek, looking for one to show.
MAX_FRAMES = 120


def cover(container: av.container.InputContainer) -> bytes | None:
    """The bytes of an attached picture, if the file has a small one."""
    for stream in container.streams.video:
        if stream.disposition & av.stream.Disposition.attached_pic:
            for packet in container.demux(stream):
                data = bytes(packet)
                if data and len(data) <= COVER_BYTES:
                    return data
                break
    return None


def frame(container: av.container.InputContainer, width: int) -> bytes | None:
    """A JPEG of one frame of the first video stream (not a cover picture), ``width`` wide."""
    streams = [
        s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic
    ]
    if not streams:
        return None
    stream = streams[0]
    stream.thread_type = "AUTO"
    duration = container.duration / av.time_base if container.duration else 0.0
    at = min(duration / 10, 60.0)
    if at > 0 and stream.time_base:
        try:
            container.seek(int(at / stream.time_base), stream=stream)
        except av.error.FFmpegError:
            container.seek(0)
    for count, picture in enumerate(container.decode(stream)):
        if count >= MAX_FRAMES:
            break
        if picture.width and picture.height:
            return _jpeg(picture, width)
    return None


def _jpeg(picture: av.VideoFrame, width: int) -> bytes:
    width = min(width, picture.width) // 2 * 2 or 2
    height = max(2, round(picture.height * width / picture.width / 2) * 2)
    scaled = picture.reformat(width=width, height=height, format="yuvj420p")
    codec = av.CodecContext.create("mjpeg", "w")
    codec.width, codec.height = width, height
    codec.pix_fmt = "yuvj420p"
    codec.time_base = Fraction(1, 25)
    scaled.pts = 0
    packets = [*codec.encode(scaled), *codec.encode(None)]
    return b"".join(bytes(p) for p in packets)


def grab(path: str, width: int) -> bytes | None:
    with av.open(path) as container:
        return cover(container) or frame(container, width)


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # FFmpeg's own chatter goes to stderr
    path, width = sys.argv[1], int(sys.argv[2])
    try:
        data = grab(path, width)
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        log.warning("no picture of %s: %s", path, exc)
        return 1
    if not data:
        return 1
    out.write(data)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
