"""The formats a page offers, as haul shows them to a person choosing one (pure values;
:mod:`haul.engine.ytdlp_formats` makes them from what yt-dlp lists)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: What a format carries: video and audio, one of them, or yt-dlp does not know.
FormatKind = Literal["video+audio", "video", "audio", "unknown"]


@dataclass(frozen=True, slots=True)
class MediaFormat:
    """One format of a page, as yt-dlp lists it (None: yt-dlp does not say)."""

    id: str
    ext: str | None = None
    kind: FormatKind = "unknown"
    width: int | None = None
    height: int | None = None
    resolution: str | None = None
    fps: float | None = None
    #: ``"none"`` when yt-dlp says the format has no such stream (audio only, video only);
    #: None when it does not say.
    vcodec: str | None = None
    acodec: str | None = None
    filesize: int | None = None
    #: yt-dlp's estimate, else :func:`estimated_size` of the total bitrate and the duration.
    filesize_approx: int | None = None
    #: Bitrates in kbit/s: total, audio, video.
    tbr: float | None = None
    abr: float | None = None
    vbr: float | None = None
    format_note: str | None = None
    protocol: str | None = None


@dataclass(frozen=True, slots=True)
class PageFormats:
    """A page's title, duration (seconds) and formats, worst first as yt-dlp sorts them."""

    url: str
    title: str | None
    duration: float | None
    extractor: str | None
    formats: tuple[MediaFormat, ...]


def estimated_size(tbr: float | None, duration: float | None) -> int | None:
    """Bytes a format of ``tbr`` kbit/s takes for ``duration`` seconds (None: either unknown);
    how an HLS variant's size is guessed, as yt-dlp gives none."""
    if tbr is None or duration is None or tbr <= 0 or duration <= 0:
        return None
    return int(tbr * 1000 * duration / 8)
