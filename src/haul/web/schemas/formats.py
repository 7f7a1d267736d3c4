"""The answer of ``GET /formats``: a page's title, duration and formats (made from
:mod:`haul.core.formats`, so a field is declared once)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel

from haul.core.formats import MediaFormat, PageFormats
from haul.web.schemas.derived import model_of

if TYPE_CHECKING:

    class MediaFormatOut(BaseModel):
        """One format of a page."""

    class PageFormatsOut(BaseModel):
        """A page's formats."""

else:
    MediaFormatOut = model_of(
        MediaFormat,
        "MediaFormatOut",
        module=__name__,
        described={
            "id": "yt-dlp's format id: give it as the download's `format` to get this one",
            "kind": "What the format carries: video+audio, video (no audio), audio (no video), "
            "or unknown",
            "vcodec": (
                "The video codec as yt-dlp names it: 'none' when it says there is no video, "
                "null when it does not say"
            ),
            "acodec": (
                "The audio codec as yt-dlp names it: 'none' when it says there is no audio, "
                "null when it does not say"
            ),
            "filesize": "Bytes, when the site says",
            "filesize_approx": (
                "Bytes, as yt-dlp estimates them, else as haul estimates them from the total "
                "bitrate and the duration (an HLS variant's)"
            ),
            "tbr": "Total bitrate, kbit/s",
            "abr": "Audio bitrate, kbit/s",
            "vbr": "Video bitrate, kbit/s",
        },
    )
    PageFormatsOut = model_of(
        PageFormats,
        "PageFormatsOut",
        module=__name__,
        shown_as={"formats": list[MediaFormatOut]},
        described={
            "duration": "Seconds",
            "formats": "Worst first, as yt-dlp sorts them",
        },
    )
