"""Whether FFmpeg's programs are installed: yt-dlp needs ``ffmpeg`` to merge separate video and
audio, to convert containers and to fetch some streams, and ``ffprobe`` for some of its fixes.

haul says so once at start and in ``/api/v1/readyz`` instead of letting each download that
needs them find out on its own. Direct files, torrents and single-file pages work without.
"""

from __future__ import annotations

import shutil

PROGRAMS = ("ffmpeg", "ffprobe")


def missing() -> list[str]:
    """The FFmpeg programs not found on ``PATH`` (yt-dlp looks there too)."""
    return [name for name in PROGRAMS if shutil.which(name) is None]


def missing_sentence(names: list[str]) -> str:
    """What a person should know when ``names`` are missing."""
    return (
        f"{' and '.join(names)} not found on PATH: downloads that merge separate video and "
        "audio or convert their container will fail (install FFmpeg, e.g. apt-get install ffmpeg)"
    )
