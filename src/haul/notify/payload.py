"""What a notification says about a download (pure): the summary, the JSON body, the text.

The worker describes a finished download with :func:`download_summary` and hands it to
:meth:`haul.notify.Notifier.emit`. A webhook receives it inside this JSON body::

    {
      "event": "completed",             # completed | failed | imported | test
      "delivery": "5f0c...-...",        # a UUID per target and event; the same on every retry
      "sent_at": "2026-11-21T10:00:00+00:00",
      "download": {
        "id": 12, "title": "Big Buck Bunny", "url": "https://example.org/bbb.mp4",
        "status": "completed", "error": null,  # or {"code": "...", "message": "..."}
        "client": "builtin", "media_id": null, "owner": "local",
        "files": [{"path": "bbb.mp4", "size": 1048576}],
        "library_paths": []             # for "imported": where the files went in the library
      }
    }

``download`` is null in a test event. Apprise targets get a title and a few lines of text
made from the same summary (:func:`message`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Any, Protocol, TypedDict
from urllib.parse import urlsplit, urlunsplit

from haul.notify.kinds import TEST_EVENT


class ErrorInfo(TypedDict):
    code: str | None
    message: str | None


class FileInfo(TypedDict):
    path: str
    size: int | None


class DownloadSummary(TypedDict):
    """A finished download as notifications describe it (built by :func:`download_summary`)."""

    id: int
    title: str | None
    url: str
    status: str
    error: ErrorInfo | None
    client: str | None
    media_id: int | None
    owner: str
    files: list[FileInfo]
    library_paths: list[str]


def download_summary(
    *,
    id: int,
    url: str,
    status: str,
    owner: str,
    title: str | None = None,
    error_code: str | None = None,
    error_message: str | None = None,
    client: str | None = None,
    media_id: int | None = None,
    files: Iterable[Mapping[str, Any] | tuple[str, int | None]] = (),
    library_paths: Iterable[str] = (),
) -> DownloadSummary:
    """Describe a download from plain values (not an ORM row: the caller picks the values).

    ``files`` are ``{"path": ..., "size": ...}`` mappings (the shape of ``Download.files``)
    or ``(path, size)`` pairs. Credentials in the source URL (``user:password@``) are dropped.
    """
    error: ErrorInfo | None = None
    if error_code is not None or error_message is not None:
        error = {"code": error_code, "message": error_message}
    return {
        "id": int(id),
        "title": title,
        "url": without_credentials(url),
        "status": status,
        "error": error,
        "client": client,
        "media_id": media_id,
        "owner": owner,
        "files": [_file(entry) for entry in files],
        "library_paths": [str(path) for path in library_paths],
    }


class StoredDownload(Protocol):
    """What :func:`summary_of` reads of a recorded download (a ``Download`` row has it)."""

    @property
    def id(self) -> int: ...
    @property
    def source_url(self) -> str: ...
    @property
    def owner_key(self) -> str: ...
    @property
    def title(self) -> str | None: ...
    @property
    def last_error_code(self) -> str | None: ...
    @property
    def last_error_message(self) -> str | None: ...
    @property
    def client(self) -> str | None: ...
    @property
    def media_id(self) -> int | None: ...
    @property
    def files(self) -> list[Any] | None: ...


def summary_of(row: StoredDownload, status: str) -> DownloadSummary:
    """Describe a recorded download that just ended with ``status`` (``completed``, ``failed``)."""
    return download_summary(
        id=row.id,
        url=row.source_url,
        status=status,
        owner=row.owner_key,
        title=row.title,
        error_code=row.last_error_code,
        error_message=row.last_error_message,
        client=row.client,
        media_id=row.media_id,
        files=row.files or [],
    )


def _file(entry: Mapping[str, Any] | tuple[str, int | None]) -> FileInfo:
    if isinstance(entry, tuple):
        path, size = entry
    else:
        path, size = entry.get("path", ""), entry.get("size")
    return {"path": str(path), "size": None if size is None else int(size)}


def without_credentials(url: str) -> str:
    """``url`` without a ``user:password@`` part (they are secrets; the rest is not)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=host))


def new_delivery_id() -> str:
    return str(uuid.uuid4())


def body(
    kind: str, download: Mapping[str, Any] | None, *, delivery: str, sent_at: datetime
) -> bytes:
    """The JSON body of a webhook, as the exact bytes that are signed and sent."""
    document = {
        "event": kind,
        "delivery": delivery,
        "sent_at": sent_at.astimezone(UTC).isoformat(),
        "download": dict(download) if download is not None else None,
    }
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=_plain)
    return text.encode()


def _plain(value: object) -> object:
    """Timestamps and paths a caller left in the summary become text; anything else is a bug."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    raise TypeError(f"{type(value).__name__} cannot go into a notification")


_VERBS = {
    "completed": "finished",
    "failed": "failed",
    "imported": "was added to the library",
    "subscription.new": "is new in a subscription",
}


def message(kind: str, download: Mapping[str, Any] | None) -> tuple[str, str]:
    """A title and a body for chat and push services (Apprise)."""
    if kind == TEST_EVENT or download is None:
        return "haul: test", "This is a test notification from haul. It works."
    name = download.get("title") or download.get("url") or f"download {download.get('id')}"
    title = f"haul: {name} {_VERBS.get(kind, kind)}"
    lines = [f"Download {download.get('id')}: {name}"]
    error = download.get("error")
    if kind == "failed" and error:
        lines.append(f"Error: {error.get('message') or error.get('code')}")
    files = download.get("files") or []
    if files:
        lines.append(
            f"{len(files)} file{'s' if len(files) != 1 else ''}: "
            + ", ".join(str(f.get("path")) for f in files[:5])
            + (" ..." if len(files) > 5 else "")
        )
    for path in (download.get("library_paths") or [])[:5]:
        lines.append(f"In the library: {path}")
    return title, "\n".join(lines)
