"""What an answer to a (range) GET promises, read from its status and headers (pure).

``headers`` is any case-insensitive mapping (aiohttp's and httpx's are; a plain dict needs
lower-case keys).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from haul.engine.http_errors import answer_error
from haul.errors import PermanentTransferError

_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.IGNORECASE)
_UNSATISFIED_RANGE = re.compile(r"bytes\s+\*/(\d+)")


@dataclass(frozen=True, slots=True)
class Answer:
    """Where the body starts in the file (-1: a range nobody can use), and what the file is."""

    start: int
    total: int | None  # the whole file's length; None when unknown or content-encoded
    validator: str | None  # strong ETag, else Last-Modified: the If-Range of a later resume
    content_type: str | None
    etag: str | None
    encoded: bool  # a Content-Encoding other than identity: bytes are not the file's own


def classify(
    status: int, reason: str | None, headers: Mapping[str, str], *, url: str, offset: int
) -> Answer | None:
    """The Answer of a body to stream; None for 416 to a resume (``offset`` > 0); or raise.

    Error statuses raise :func:`~haul.engine.http_errors.answer_error`; any other status
    than 200 and 206 raises a PermanentTransferError.
    """
    if status == 416 and offset:
        return None
    if status >= 400:
        raise answer_error(status, reason, url, headers)
    if status not in (200, 206):
        raise PermanentTransferError(
            f"The server answered {status} for {url}, which is not a file.",
            code=f"http_{status}",
        )
    encoded = headers.get("content-encoding", "identity").lower() not in ("identity", "")
    etag = headers.get("etag")
    validator = etag if etag and not etag.startswith("W/") else headers.get("last-modified")
    length = None if encoded else _int(headers.get("content-length"))
    start, total = 0, length
    if status == 206:
        match = _CONTENT_RANGE.match(headers.get("content-range", ""))
        start = int(match[1]) if match else -1
        total = int(match[3]) if match and match[3] != "*" else None
    return Answer(start, total, validator, headers.get("content-type"), etag, encoded)


def complete_after_416(headers: Mapping[str, str], size: int, hinted_size: object) -> bool:
    """After a 416 to a resume from ``size``: is the part already the whole file?"""
    match = _UNSATISFIED_RANGE.fullmatch(headers.get("content-range", "").strip())
    total = int(match[1]) if match else hinted_size
    return isinstance(total, int) and total == size


def _int(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None
