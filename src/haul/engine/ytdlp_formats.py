"""What formats a page offers, as yt-dlp lists them (nothing is downloaded), and whether a
format selector is one yt-dlp can read.

Both block; :func:`list_formats` connects, so its caller runs it in a thread under the
address policy (:func:`haul.net.guard.watch`), as downloads are. Errors leave as haul errors
(:mod:`haul.engine.ytdlp_errors`); a playlist is refused (formats belong to one video).
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from yt_dlp import YoutubeDL
from yt_dlp.utils import YoutubeDLError

from haul.core.cookies import SiteCookies
from haul.core.formats import FormatKind, MediaFormat, PageFormats, estimated_size
from haul.core.text import printable
from haul.engine.ytdlp import give_cookies
from haul.engine.ytdlp_errors import translate
from haul.engine.ytdlp_session import Logger, open_session
from haul.errors import PermanentTransferError


def list_formats(
    url: str, *, timeout: float = 30.0, cookies: SiteCookies | None = None
) -> PageFormats:
    """The formats of the video at ``url``; ``timeout`` bounds every network wait. yt-dlp gets
    the ``cookies`` of the page's site."""
    given = None
    params = {"noplaylist": True, "extract_flat": "in_playlist", "skip_download": True}
    try:
        with open_session("[formats]", socket_timeout=timeout, **params) as ydl:
            given = give_cookies(ydl, url, cookies)
            info = ydl.extract_info(url, download=False)
    except YoutubeDLError as exc:
        raise translate(exc, url, cookies_of=given) from exc
    if not isinstance(info, dict):
        raise PermanentTransferError(f"yt-dlp found nothing at {url}.", code="no_formats")
    if info.get("_type") in ("playlist", "multi_video"):
        count = len(list(info.get("entries") or ()))
        raise PermanentTransferError(
            f"{url} is a playlist of {count} entries; formats are listed for one video: "
            "list those of one of its entries.",
            code="playlist",
        )
    raw = info.get("formats") or [info]
    duration = _number(info.get("duration"))
    formats = tuple(_format(f, duration) for f in raw if isinstance(f, dict) and f.get("format_id"))
    if not formats:
        raise PermanentTransferError(f"yt-dlp found no formats at {url}.", code="no_formats")
    return PageFormats(
        url=url,
        title=_text(info.get("title")),
        duration=duration,
        extractor=_text(info.get("extractor_key") or info.get("extractor")),
        formats=formats,
    )


def _format(f: dict[str, Any], duration: float | None) -> MediaFormat:
    vcodec, acodec = f.get("vcodec"), f.get("acodec")
    tbr = _number(f.get("tbr"))
    return MediaFormat(
        id=str(f["format_id"]),
        ext=_text(f.get("ext")),
        kind=_kind(vcodec, acodec),
        width=_integer(f.get("width")),
        height=_integer(f.get("height")),
        resolution=_text(f.get("resolution")),
        fps=_number(f.get("fps")),
        vcodec=_text(vcodec),
        acodec=_text(acodec),
        filesize=_integer(f.get("filesize")),
        filesize_approx=_integer(f.get("filesize_approx")) or estimated_size(tbr, duration),
        tbr=tbr,
        abr=_number(f.get("abr")),
        vbr=_number(f.get("vbr")),
        format_note=_text(f.get("format_note")),
        protocol=_text(f.get("protocol")),
    )


def _kind(vcodec: object, acodec: object) -> FormatKind:
    """yt-dlp says ``none`` of a stream a format lacks, and nothing of one it does not know."""
    if vcodec == "none" and acodec not in (None, "none"):
        return "audio"
    if acodec == "none" and vcodec not in (None, "none"):
        return "video"
    if vcodec not in (None, "none") and acodec not in (None, "none"):
        return "video+audio"
    return "unknown"


def _text(value: object) -> str | None:
    """A text of the page (a title, a note) without control characters, as titles are kept."""
    return None if value is None else printable(str(value))


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _integer(value: object) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


_reader: YoutubeDL | None = None
_reader_lock = threading.Lock()


@functools.lru_cache(maxsize=256)
def selector_problem(selector: str) -> str | None:
    """Why yt-dlp cannot read the format selector ``selector`` (None: it can). Pure parsing,
    no network."""
    global _reader
    with _reader_lock:
        if _reader is None:
            _reader = YoutubeDL({"ignoreconfig": True, "logger": Logger("[format check]")})
        try:
            _reader.build_format_selector(selector)
        except (SyntaxError, ValueError) as exc:
            why = str(exc).strip().splitlines()[0].rstrip(".") if str(exc).strip() else "bad"
            return f"yt-dlp cannot read the format {selector!r}: {why}."
    return None
