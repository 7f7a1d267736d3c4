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
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class PartSource:
    """What a part was cut from: the validators and the length of the file its first answer
    described (each None when that answer did not say)."""

    validator: str | None = None  # strong ETag, else Last-Modified (see :class:`Answer`)
    last_modified: str | None = None
    total: int | None = None


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
    content_type = headers.get("content-type")
    modified = headers.get("last-modified")
    return Answer(start, total, validator, content_type, etag, encoded, modified)


def changed_since(source: PartSource, answer: Answer) -> str | None:
    """Why the rest ``answer`` offers belongs to another file than the part holds; None when
    nothing it says differs from what the part was cut from.

    A server that honours ``If-Range`` answers a changed file with 200 and the whole of it;
    one that ignores it answers 206 with the new file's validators or length, and splicing
    those bytes onto the part would make a file that never existed. What either side does
    not say (no ETag, no length) is not held against the answer.
    """
    stored = source.validator
    if stored is not None and _is_etag(stored) and answer.etag and answer.etag != stored:
        return "its ETag changed"
    modified = source.last_modified or (stored if stored and not _is_etag(stored) else None)
    if modified and answer.last_modified and answer.last_modified != modified:
        return "its Last-Modified date changed"
    if source.total is not None and answer.total is not None and answer.total != source.total:
        return f"its length changed from {source.total} to {answer.total} bytes"
    return None


def range_end(headers: Mapping[str, str]) -> int | None:
    """The last byte (exclusive) a 206's Content-Range says its body holds; None when it
    names none."""
    match = _CONTENT_RANGE.match(headers.get("content-range", ""))
    return int(match[2]) + 1 if match else None


def _is_etag(validator: str) -> bool:
    return validator.startswith(('"', "W/"))


def complete_after_416(headers: Mapping[str, str], size: int, hinted_size: object) -> bool:
    """After a 416 to a resume from ``size``: is the part already the whole file?"""
    match = _UNSATISFIED_RANGE.fullmatch(headers.get("content-range", "").strip())
    total = int(match[1]) if match else hinted_size
    return isinstance(total, int) and total == size


def _int(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None
