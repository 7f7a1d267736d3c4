"""Sending a finished file: its content type, its name, HTTP Range (by Starlette).

``mimetypes`` reads the machine's ``/etc/mime.types``, which lacks some media types or maps
their extensions to something else (``.ts`` as a Qt translation, ``.ass`` as AAC audio), so
the media haul downloads is typed from its own table first.
"""

from __future__ import annotations

import mimetypes
import unicodedata
from pathlib import Path
from urllib.parse import quote

from fastapi.responses import FileResponse

MEDIA_TYPES: dict[str, str] = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mkv": "video/x-matroska",
    ".mka": "audio/x-matroska",
    ".webm": "video/webm",
    ".mov": "video/quicktime",
    ".avi": "video/x-msvideo",
    ".ts": "video/mp2t",
    ".m3u8": "application/vnd.apple.mpegurl",
    ".m4a": "audio/mp4",
    ".mp3": "audio/mpeg",
    ".aac": "audio/aac",
    ".opus": "audio/ogg",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".flac": "audio/flac",
    ".wav": "audio/wav",
    ".srt": "application/x-subrip",
    ".vtt": "text/vtt",
    ".ass": "text/x-ssa",
    ".ssa": "text/x-ssa",
    ".torrent": "application/x-bittorrent",
    ".nfo": "text/plain",
}

#: Characters RFC 5987 lets stand unencoded in ``filename*`` (attr-char).
_ATTR_CHARS = "!#$&+-.^_`|~"


def content_type(name: str) -> str:
    suffix = Path(name).suffix.lower()
    return MEDIA_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def ascii_name(name: str) -> str:
    """A plain ASCII stand-in of ``name`` for clients that do not read ``filename*``:
    accents dropped, anything else unsafe in a quoted header value replaced by ``_``."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    safe = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in folded)
    stem, dot, suffix = safe.rpartition(".")
    if not dot:
        stem, suffix = safe, ""
    if stem.strip(" ._"):
        return safe
    return "download" + (f".{suffix}" if suffix else "")


def content_disposition(name: str, kind: str = "attachment") -> str:
    """``attachment; filename="<ASCII>"; filename*=UTF-8''<percent-encoded>`` (RFC 6266 with
    RFC 5987 for the real name); the plain form alone when the name is plain ASCII."""
    plain = ascii_name(name)
    value = f'{kind}; filename="{plain}"'
    if plain != name:
        value += f"; filename*=UTF-8''{quote(name, safe=_ATTR_CHARS)}"
    return value


def file_response(path: Path, name: str | None = None) -> FileResponse:
    """``path`` sent as an attachment named ``name`` (its own name by default), Range and
    HEAD answered."""
    shown = name or path.name
    return FileResponse(
        path,
        media_type=content_type(shown),
        headers={
            "Content-Disposition": content_disposition(shown),
            "X-Content-Type-Options": "nosniff",
        },
    )
