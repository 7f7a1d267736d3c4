"""File names for direct downloads (pure): what to call a file and where its bytes gather.

A name comes from Content-Disposition (``filename*`` before ``filename``), else from the last
URL path segment with an extension taken from the content type, else ``download``; it is
never a path and never more than 200 UTF-8 bytes. A download that carries a title of its
listing (a podcast feed's episode) is named after that title instead (:func:`titled`), with
the extension of its URL or its content type. A file's bytes gather in ``<name>.part``
until the download is complete.
"""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from haul.core.paths import sanitize_filename

FALLBACK_NAME = "download"
_EXTENSIONS = {  # preferred over mimetypes, whose answers differ between systems
    "application/octet-stream": ".bin",
    "application/pdf": ".pdf",
    "application/vnd.apple.mpegurl": ".m3u8",
    "application/x-bittorrent": ".torrent",
    "application/x-subrip": ".srt",
    "application/zip": ".zip",
    "audio/mp4": ".m4a",
    "audio/mpeg": ".mp3",
    "audio/ogg": ".ogg",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "text/html": ".html",
    "text/plain": ".txt",
    "text/vtt": ".vtt",
    "video/mp2t": ".ts",
    "video/mp4": ".mp4",
    "video/webm": ".webm",
    "video/x-matroska": ".mkv",
}
_PARAM = re.compile(r';\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


def filename_for(url: str, content_disposition: str | None, content_type: str | None) -> str:
    """A safe file name for a download: never a path, never empty, at most 200 bytes.

    Content-Disposition wins (``filename*`` before ``filename``) and is kept as the server
    spelled it; a name from the last URL path segment that has no extension gets one from the
    content type (``/watch/42`` as video/mp4 is ``42.mp4``); the last resort is ``download``.
    """
    return named(disposition_name(content_disposition), url_name(url), content_type)


PART_SUFFIX = ".part"


def part_path(final: Path) -> Path:
    """Where the bytes of ``final`` gather until the download is complete."""
    return final.with_name(final.name + PART_SUFFIX)


def named(chosen: str | None, derived: str, content_type: str | None) -> str:
    """A server-chosen name as it is; else one derived from the URL, with an extension."""
    safe = sanitize_filename(chosen or "")
    if safe:
        return safe
    safe = sanitize_filename(derived)
    extension = _extension_for(content_type)
    if not safe:
        return FALLBACK_NAME + (extension or ".bin")
    if "." in safe or extension == ".bin":
        return safe
    return safe + extension


#: What an extension of a URL's last segment looks like (``.mp3``, ``.m4a``, ``.webm``).
_URL_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,5}$")


def titled(title: str, derived: str, content_type: str | None) -> str | None:
    """A name after ``title``, with the extension of ``derived`` (the URL's last segment)
    or else of the content type; None when nothing of the title is left to name it by."""
    found = _URL_EXTENSION.search(derived)
    extension = found.group(0).lower() if found else _extension_for(content_type)
    flat = title.replace("/", "-").replace("\\", "-")  # a title's slash is no folder
    stem = sanitize_filename(flat.strip().rstrip("."))
    return sanitize_filename(stem + extension) if stem else None


def numbered(name: str, n: int) -> str:
    """The ``n``-th alternative to a taken name: ``clip (2).mp4``."""
    stem, dot, ext = name.rpartition(".")
    return f"{stem} ({n}).{ext}" if dot and stem else f"{name} ({n})"


def url_name(url: str) -> str:
    """The last path segment of ``url``, percent-decoded (may be empty or unsafe)."""
    return unquote(urlsplit(url).path.split("/")[-1])


def disposition_name(header: str | None) -> str | None:
    """The file name a Content-Disposition header proposes, unsanitized; None without one.

    RFC 6266: ``filename*`` (RFC 5987, ``charset'lang'percent-encoded``) before ``filename``.
    Servers send what they like, so nothing here fails: the header's bytes are read as UTF-8,
    else as latin-1 (what old servers send); a ``filename*`` whose bytes are not in the charset
    it names (or names none haul knows) is read as UTF-8, else latin-1.
    """
    if not header:
        return None
    header = _header_text(header)
    params: dict[str, str] = {}
    _, semicolon, rest = header.partition(";")  # skip the disposition type
    for key, raw in _PARAM.findall(semicolon + rest):
        value = raw.strip()
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        params[key.lower()] = value
    extended = params.get("filename*")
    if extended and extended.count("'") >= 2:
        charset, _, encoded = extended.split("'", 2)
        return _decoded(unquote_to_bytes(encoded), charset.strip() or "utf-8")
    return params.get("filename")


def _header_text(header: str) -> str:
    """A header value as text, whichever way the HTTP library decoded its bytes: aiohttp keeps
    bytes that are not UTF-8 as lone surrogates, httpx reads them as latin-1 (already text)."""
    try:
        raw = header.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate no byte stands for: drop it
        raw = header.encode("utf-8", "ignore")
    return _decoded(raw, "utf-8")


def _decoded(raw: bytes, charset: str) -> str:
    """``raw`` read in ``charset``, else UTF-8, else latin-1 (which reads any byte)."""
    for encoding in (charset, "utf-8"):
        try:
            return raw.decode(encoding)
        except (LookupError, UnicodeDecodeError):  # an unknown charset, or not in it
            continue
    return raw.decode("latin-1")


def _extension_for(content_type: str | None) -> str:
    media_type = (content_type or "").split(";")[0].strip().lower()
    if not media_type:
        return ""
    return _EXTENSIONS.get(media_type) or mimetypes.guess_extension(media_type) or ""
