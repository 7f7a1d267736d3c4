"""Thumbnails: what an image is by its bytes, and where a download's thumbnail comes from (pure).

A thumbnail's bytes come from a site (a page's picture) or from a file someone downloaded, so
the type a server names is never believed: :func:`sniff` reads the first bytes and knows four
formats a browser shows, JPEG, PNG, GIF and WebP. Anything else (an HTML error page, an SVG,
which may carry script) is not an image to haul.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Final

from haul.core.sources import parse_source
from haul.errors import InputError

#: Bytes needed to tell the four formats apart.
SNIFF_BYTES: Final = 12
#: The longest thumbnail source address kept with a download.
MAX_SOURCE_LENGTH: Final = 2000


def sniff(data: bytes) -> str | None:
    """The media type of an image in ``data`` (JPEG, PNG, GIF or WebP), by its first bytes;
    None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= SNIFF_BYTES and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def source_of(info: Mapping[str, Any]) -> str | None:
    """The address of the thumbnail yt-dlp found for a page (``thumbnail``, else the last of
    ``thumbnails``, yt-dlp's preferred), when it is an http(s) address of sane length."""
    candidate = info.get("thumbnail")
    if not candidate:
        thumbs = [t for t in info.get("thumbnails") or () if isinstance(t, Mapping)]
        candidate = thumbs[-1].get("url") if thumbs else None
    return _checked(candidate)


def download_thumbnail(meta: Mapping[str, Any]) -> str | None:
    """The thumbnail source kept with a download: what its finished run found, else what its
    page's extraction found. Never shown to a browser: haul fetches it and serves a copy."""
    for part in ("result", "resolved"):
        found = meta.get(part)
        if isinstance(found, dict):  # JSON: a dict (not the ABC Mapping, slow for every row)
            source = _checked(found.get("thumbnail"))
            if source is not None:
                return source
    return None


def _checked(value: object) -> str | None:
    if not isinstance(value, str) or len(value) > MAX_SOURCE_LENGTH:
        return None
    return _checked_address(value)


@functools.lru_cache(maxsize=4096)
def _checked_address(value: str) -> str | None:
    """``value`` when it is an address haul may fetch a picture from. Kept per address: the
    list asks again for every row it shows, and parsing an address costs ~70 us."""
    if not value.lower().startswith(("http://", "https://")):
        return None
    if any(c.isspace() or ord(c) < 32 for c in value):
        return None
    try:  # an address haul never fetches (169.254.169.254...) is not kept to be tried
        parse_source(value, allow_private=True)
    except InputError:
        return None
    return value
