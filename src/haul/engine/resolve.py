"""What a source is: a direct file, a media page, a playlist or a torrent.

:func:`resolve` decides which engine gets a URL, as cheaply as possible:

=====================================================  ===========================================
the source                                             kind (who downloads it)
=====================================================  ===========================================
``magnet:``, a path ending ``.torrent``                ``torrent`` (a torrent client), no request
served as ``application/x-bittorrent``                 ``torrent``
any other type but a page or a manifest                ``file`` (the HTTP engine); one HEAD request
a page, an HLS or DASH manifest, one media item        ``media`` (yt-dlp)
a page with more than one media item                   ``playlist`` (one child per entry)
=====================================================  ===========================================

The probe is a HEAD that follows redirects; servers that refuse HEAD get a one-byte ranged GET.
Timeouts and limits are the given client's. yt-dlp runs only for pages and manifests, in a
thread.

The steps are separate so a caller that sends a request anyway can probe with it:
:func:`from_url` (the URL alone tells), :func:`from_answer` (a probe's final URL and headers
tell: a file or a torrent) and :func:`from_page` (yt-dlp). The built-in job runner classifies
a source from the headers of the HTTP engine's own GET (:mod:`haul.worker.runner`), so a direct
file costs one request, not a HEAD and then a GET.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

if TYPE_CHECKING:
    from haul.engine import ytdlp

from haul.core.cookies import SiteCookies
from haul.engine.filenames import disposition_name
from haul.engine.http_errors import network_error, status_error
from haul.errors import AddressRefused, UnsupportedSource
from haul.net.guard import reworded

Kind = Literal["file", "media", "playlist", "torrent"]
Extractor = Callable[[str], "ytdlp.Extraction"]

PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml"})
MANIFEST_TYPES = frozenset(
    {
        "application/vnd.apple.mpegurl",
        "application/x-mpegurl",
        "audio/mpegurl",
        "audio/x-mpegurl",
        "application/dash+xml",
    }
)
MANIFEST_SUFFIXES = (".m3u8", ".mpd")
TORRENT_TYPE = "application/x-bittorrent"
#: HEAD answers that mean "this server does not do HEAD", not "this resource is bad".
HEAD_REFUSED = frozenset({400, 403, 405, 406, 501})


@dataclass(frozen=True, slots=True)
class PlaylistEntry:
    """One entry of a playlist; ``index`` is 1-based, ``url`` is known for some sites only."""

    index: int
    url: str | None
    title: str | None


@dataclass(frozen=True, slots=True)
class Resolution:
    """What a source turned out to be, with what was learned on the way."""

    kind: Kind
    url: str
    title: str | None = None
    filename: str | None = None
    size: int | None = None
    content_type: str | None = None
    entries: tuple[PlaylistEntry, ...] = ()
    #: A media item's HLS manifest when it may be a live stream (see ``ytdlp.Extraction``).
    hls_manifest: str | None = None
    #: Where the page's picture is, if yt-dlp found one (haul fetches a copy to show).
    thumbnail: str | None = None
    #: A media item as yt-dlp's extraction read it (see ``EngineJob.extracted``).
    extracted: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)


async def resolve(
    url: str, http: httpx.AsyncClient, *, extract: Extractor | None = None
) -> Resolution:
    """Find out what ``url`` is. Network failures raise transient or permanent transfer errors;
    a page without media raises :class:`~haul.errors.UnsupportedSource`."""
    found = from_url(url)
    if found is not None:
        return found
    response = await _probe(url, http)
    found = from_answer(url, str(response.url), response.status_code, response.headers)
    if found is not None:
        return found
    return await from_page(url, media_type(response.headers.get("content-type")), extract=extract)


def from_url(url: str) -> Resolution | None:
    """What ``url`` is when its form alone tells (a magnet, a path ending ``.torrent``); None
    when a request must tell. Schemes other than http(s) raise UnsupportedSource."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "magnet":
        names = parse_qs(parts.query).get("dn")
        return Resolution(kind="torrent", url=url, title=names[0] if names else None)
    if scheme not in ("http", "https"):
        raise UnsupportedSource(f"haul cannot download {scheme or 'scheme-less'} URLs like {url}.")
    if parts.path.lower().endswith(".torrent"):
        return Resolution(kind="torrent", url=url, filename=_url_filename(url))
    return None


def from_answer(
    url: str, final_url: str, status: int, headers: Mapping[str, str]
) -> Resolution | None:
    """A file or a torrent, told by the successful answer (``status`` < 400) to a request for
    ``url`` that ended at ``final_url``; None for a page or a manifest (:func:`from_page`).
    ``headers`` is any case-insensitive mapping (httpx's, aiohttp's)."""
    content_type = media_type(headers.get("content-type"))
    if content_type == TORRENT_TYPE:
        return Resolution(kind="torrent", url=url, content_type=content_type)
    if _is_page(content_type) or _is_manifest(content_type, url, final_url):
        return None
    return Resolution(
        kind="file",
        url=url,
        filename=_disposition_filename(headers.get("content-disposition"))
        or _url_filename(final_url),
        size=_size(status, headers),
        content_type=content_type,
    )


async def from_page(
    url: str,
    content_type: str | None,
    *,
    extract: Extractor | None = None,
    cookies: SiteCookies | None = None,
    params: Mapping[str, Any] | None = None,
) -> Resolution:
    """A page or a manifest: one media item or a playlist, as yt-dlp (in a thread) finds it
    (with the cookies of the page's site, when the owner uploaded some, and ``params``: the
    profile's proxy and extractor arguments, a site rule's pause)."""
    if extract is None:
        # yt-dlp is imported on the first page, not at start: a server that only ever fetches
        # direct files never pays its memory.
        from haul.engine import ytdlp

        extract = functools.partial(ytdlp.extract, cookies=cookies, params=params)
    extraction = await asyncio.to_thread(extract, url)
    return _from_extraction(url, extraction, content_type)


def _from_extraction(url: str, found: ytdlp.Extraction, content_type: str | None) -> Resolution:
    if found.kind == "media":
        return Resolution(
            kind="media",
            url=url,
            title=found.title,
            content_type=content_type,
            hls_manifest=found.hls_manifest,
            thumbnail=found.thumbnail,
            extracted=found.info,
        )
    if not found.entries:
        raise UnsupportedSource(f"The playlist at {url} has no entries haul can download.")
    if len(found.entries) == 1:
        title = found.entries[0].title or found.title
        return Resolution(kind="media", url=url, title=title, content_type=content_type)
    entries = tuple(PlaylistEntry(e.index, e.url, e.title) for e in found.entries)
    return Resolution(
        kind="playlist", url=url, title=found.title, content_type=content_type, entries=entries
    )


async def _probe(url: str, http: httpx.AsyncClient) -> httpx.Response:
    """HEAD ``url`` (a ranged one-byte GET when HEAD is refused); a 4xx/5xx answer raises.

    Failures are worded and classified as the HTTP engine does (:mod:`haul.engine.http_errors`).
    """
    try:
        try:
            response = await http.head(url, follow_redirects=True)
            refused = response.status_code in HEAD_REFUSED
        except httpx.RemoteProtocolError:
            refused = True  # some servers hang up on HEAD
        if refused:
            request = http.build_request("GET", url, headers={"Range": "bytes=0-0"})
            response = await http.send(request, stream=True, follow_redirects=True)
            await response.aclose()  # the headers are all we want; never read a body
    except httpx.HTTPError as exc:
        raise network_error(exc, url) from exc
    except AddressRefused as exc:  # a guarded client (haul.net.transport) refused a hop
        raise reworded(exc, url) from exc
    if response.status_code >= 400:
        raise status_error(response)
    return response


def media_type(header: str | None) -> str | None:
    """The media type of a Content-Type header, lower case, without parameters."""
    if not header:
        return None
    return header.split(";", 1)[0].strip().lower() or None


def _is_page(content_type: str | None) -> bool:
    return content_type in PAGE_TYPES


def _is_manifest(content_type: str | None, *urls: str) -> bool:
    if content_type in MANIFEST_TYPES:
        return True
    return any(urlsplit(u).path.lower().endswith(MANIFEST_SUFFIXES) for u in urls)


def _size(status: int, headers: Mapping[str, str]) -> int | None:
    content_range = headers.get("content-range")
    if content_range:
        match = re.fullmatch(r"\s*bytes\s+\d+-\d+/(\d+)\s*", content_range)
        return int(match.group(1)) if match else None
    if status == 206:
        return None
    length = headers.get("content-length")
    encoded = headers.get("content-encoding", "identity").lower() != "identity"
    return int(length) if length and length.isdigit() and not encoded else None


def _disposition_filename(header: str | None) -> str | None:
    name = disposition_name(header)  # any encoding a server sends (RFC 6266 / 5987)
    return _safe_name(name) if name else None


def _url_filename(url: str) -> str | None:
    return _safe_name(unquote(PurePosixPath(urlsplit(url).path).name))


def _safe_name(name: str) -> str | None:
    """The last path part of ``name``, without directory tricks; None when nothing is left."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip().strip(".")
    return name or None
