"""Tracked downloads: a download's stored intent joined with its client's live item (pure).

This is the only place that decides the status a person sees. It is rebuilt on every ask from
the row and the client's answer; nothing here is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from haul.core.bandwidth import HELD_MARK, HELD_MESSAGE
from haul.core.client_items import ClientItem
from haul.core.images import download_thumbnail
from haul.core.status import PHASE_STATUS, Phase, Status
from haul.core.text import printable


class DownloadRow(Protocol):
    """The stored fields tracking reads (satisfied by :class:`haul.store.models.Download`)."""

    id: int
    source_url: str
    title: str | None
    phase: str
    desired_paused: bool
    canceled_at: datetime | None
    client: str | None
    client_ref: str | None
    media_id: int | None
    parent_id: int | None
    owner_key: str
    created_at: datetime
    completed_at: datetime | None
    last_error_code: str | None
    last_error_message: str | None
    retry_next_at: datetime | None
    files: list[Any]
    format: str | None
    audio_format: str | None
    audio_quality: str | None
    speed_limit: int | None
    meta: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Tracked:
    """What every interface shows of a download."""

    id: int
    url: str
    title: str | None
    status: Status
    progress: float | None
    downloaded_bytes: int | None
    total_bytes: int | None
    speed: float | None
    eta: float | None
    client: str | None
    client_ref: str | None
    error: str | None
    error_code: str | None
    message: str | None
    media_id: int | None
    parent_id: int | None
    owner: str
    created_at: datetime
    completed_at: datetime | None
    retry_at: datetime | None
    files: list[Any]
    #: A playlist's number of entries (None: not a playlist).
    children: int | None = None
    #: Who owns it as a person reads it: a user name, ``visitor 1a2b3c4d``, ``local``.
    owner_name: str | None = None
    #: A playlist's entries counted by status, e.g. ``{"completed": 2, "failed": 1}``.
    children_status: dict[str, int] | None = None
    #: The yt-dlp format selector chosen for this download instead of its profile's.
    format: str | None = None
    #: Audio only, chosen for this download: the format converted to and its quality.
    audio_format: str | None = None
    audio_quality: str | None = None
    #: A live stream, recorded while it lasts (no total size, no percentage).
    live: bool = False
    #: Seconds of a live stream recorded so far (when finished: in all).
    recorded_seconds: float | None = None
    #: The user asked to end the live recording: it finishes with what it recorded.
    stop_requested: bool = False
    #: How a finished live recording ended: ``user`` (stopped by hand), ``max_duration``
    #: (it reached its maximum length), ``stream_ended`` or ``stream_quiet`` (the stream
    #: stopped answering or adding segments). None: not a finished recording.
    live_ended_by: str | None = None
    #: Seconds of media after which a live recording ends, asked for this download.
    max_duration: float | None = None
    #: haul's own address of the download's thumbnail (None: it has none).
    thumbnail_url: str | None = None
    #: Its own download speed limit in bytes per second (None: none but the others).
    speed_limit: int | None = None


@dataclass(frozen=True, slots=True)
class Playlist:
    """What a playlist's entries add up to, read from their rows (no client asked)."""

    #: The entries counted by status.
    counts: dict[str, int]
    #: Bytes in the finished entries' files (None: none is finished).
    size: int | None = None
    #: When the last entry finished.
    completed_at: datetime | None = None


def track(
    row: DownloadRow,
    item: ClientItem | None,
    *,
    client_error: str | None = None,
    children: Playlist | None = None,
    owner_name: str | None = None,
    thumbnail: bool | None = None,
) -> Tracked:
    """Join a row with its client's item (None: the client does not know it).

    ``client_error`` is set when the client could not be asked; ``children`` holds what a
    playlist's entries add up to; ``owner_name`` is the owner as a person reads it;
    ``thumbnail`` says whether haul shows the download's thumbnail (None: when its row names
    one; False when haul could not fetch it).
    """
    counts = children.counts if children is not None else None
    status, message = _status(row, item, client_error, counts)
    live = item if status in _LIVE_STATUSES or row.phase == Phase.ACTIVE else None
    done = status is Status.COMPLETED
    size = files_size(row.files) if done else None
    if children is not None and row.phase == Phase.PARENT:
        # A playlist holds no file itself: it has what its entries downloaded so far.
        return _playlist(row, status, children, owner_name, thumbnail)
    error = row.last_error_message if status in (Status.FAILED, Status.QUEUED) else None
    if status is Status.QUEUED and row.last_error_code == "disk_full":
        # "Waiting for disk space: ...": a state, not a failed attempt (no retry is spent).
        message, error = message or error, None
    if status is Status.UNKNOWN:
        error = client_error
    return Tracked(
        id=row.id,
        url=row.source_url,
        title=row.title or (item.name if item else None) or name_in_url(row.source_url),
        status=status,
        progress=1.0 if done else (live.progress if live else None),
        downloaded_bytes=size if done else (live.downloaded_bytes if live else None),
        total_bytes=size if done else (live.total_bytes if live else None),
        speed=live.speed if live and status is Status.DOWNLOADING else None,
        eta=live.eta if live and status is Status.DOWNLOADING else None,
        client=row.client,
        client_ref=row.client_ref,
        error=error,
        error_code=row.last_error_code if error else None,
        message=message,
        media_id=row.media_id,
        parent_id=row.parent_id,
        owner=row.owner_key,
        created_at=row.created_at,
        completed_at=row.completed_at,
        retry_at=row.retry_next_at if status is Status.QUEUED else None,
        files=row.files,
        children=sum(counts.values()) if counts is not None else None,
        owner_name=owner_name,
        children_status=counts,
        format=row.format,
        audio_format=row.audio_format,
        audio_quality=row.audio_quality,
        speed_limit=row.speed_limit,
        **_live_fields(row, live),
        max_duration=(row.meta or {}).get("max_duration"),
        thumbnail_url=thumbnail_url(row, thumbnail),
    )


#: The longest name :func:`name_in_url` gives.
MAX_URL_NAME = 200


def name_in_url(url: str) -> str | None:
    """The file name a link ends with (``Ubuntu 24.04.iso`` from ``.../Ubuntu%2024.04.iso``):
    what a download is called until its source says (a direct file's first answer, a page's
    title). Percent-decoded and untrusted: control characters go, as from any title. None
    for a link whose path names no file (``/watch``, ``/``), a magnet or a torrent: the
    interfaces show the link itself then."""
    if not url.lower().startswith(("http://", "https://")):
        return None
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    name = printable(unquote(path.rstrip("/").rsplit("/", 1)[-1]))[:MAX_URL_NAME]
    stem, dot, extension = name.rpartition(".")
    if not (dot and stem.strip() and extension.isalnum()):
        return None
    return name


def _live_fields(row: DownloadRow, item: ClientItem | None) -> dict[str, Any]:
    """What a live recording adds: that it is one, how long it is so far (from its client
    while it runs, from its result when finished) and whether its end was asked for."""
    meta = row.meta or {}
    resolved = meta.get("resolved") or {}
    result = meta.get("result") or {}
    live = resolved.get("kind") == "live" or bool(item and item.live) or bool(result.get("live"))
    if not live:
        return {}
    seconds = item.recorded_seconds if item is not None else None
    if seconds is None:
        seconds = result.get("recorded_seconds")
    return {
        "live": True,
        "recorded_seconds": seconds,
        "stop_requested": bool(meta.get("stop_requested")) or bool(result.get("stopped")),
        "live_ended_by": _ended_by(result.get("ended_by")) if result.get("live") else None,
    }


def _ended_by(value: Any) -> str | None:
    """A recording's end as the API names it (older results said ``limit`` and ``stream``)."""
    text = {"limit": "max_duration", "stream": "stream_ended"}.get(str(value), str(value))
    return text if value is not None else None


def _playlist(
    row: DownloadRow,
    status: Status,
    children: Playlist,
    owner_name: str | None,
    thumbnail: bool | None,
) -> Tracked:
    done = status is Status.COMPLETED
    return Tracked(
        id=row.id,
        url=row.source_url,
        title=row.title,
        status=status,
        progress=_parent_progress(children.counts),
        downloaded_bytes=children.size,
        total_bytes=children.size if done else None,
        speed=None,
        eta=None,
        client=row.client,
        client_ref=row.client_ref,
        error=None,
        error_code=None,
        message=playlist_summary(children.counts),
        media_id=row.media_id,
        parent_id=row.parent_id,
        owner=row.owner_key,
        created_at=row.created_at,
        completed_at=children.completed_at if done else None,
        retry_at=None,
        files=row.files,
        children=sum(children.counts.values()),
        owner_name=owner_name,
        children_status=dict(children.counts),
        format=row.format,
        audio_format=row.audio_format,
        audio_quality=row.audio_quality,
        speed_limit=row.speed_limit,
        thumbnail_url=thumbnail_url(row, thumbnail),
    )


def thumbnail_url(row: DownloadRow, shown: bool | None = None) -> str | None:
    """Where haul serves the download's thumbnail: its own address, never the site's;
    ``shown`` when the caller knows whether there is one (None: the row's meta says)."""
    if shown is None:
        shown = download_thumbnail(row.meta or {}) is not None
    return f"/api/v1/downloads/{row.id}/thumbnail" if shown else None


#: The order a playlist's summary names its entries' statuses in, after the finished ones.
_SUMMARY_ORDER = (
    Status.DOWNLOADING,
    Status.RESOLVING,
    Status.PROCESSING,
    Status.QUEUED,
    Status.PAUSED,
    Status.CHECKING,
    Status.SEEDING,
    Status.UNKNOWN,
    Status.MISSING,
    Status.FAILED,
    Status.CANCELED,
)


def playlist_summary(counts: dict[str, int]) -> str:
    """A playlist's entries in a sentence: ``"2 of 3 downloaded, 1 failed"``."""
    total = sum(counts.values())
    if not total:
        return "no entries yet"
    parts = [f"{counts.get(Status.COMPLETED, 0)} of {total} downloaded"]
    parts += [f"{counts[s]} {s.value}" for s in _SUMMARY_ORDER if counts.get(s)]
    return ", ".join(parts)


_LIVE_STATUSES = frozenset({Status.DOWNLOADING, Status.PAUSED, Status.CHECKING, Status.SEEDING})


def _status(
    row: DownloadRow,
    item: ClientItem | None,
    client_error: str | None,
    children: dict[str, int] | None,
) -> tuple[Status, str | None]:
    phase = Phase(row.phase)
    if phase is Phase.PARENT:
        return _parent_status(children or {}), None
    if phase is not Phase.ACTIVE:
        if row.desired_paused and phase in (Phase.QUEUED, Phase.ADMITTED):
            return Status.PAUSED, None
        warning = item.message if item is not None and phase is Phase.ADMITTED else None
        return PHASE_STATUS[phase], warning
    if row.canceled_at is not None:
        return Status.CANCELED, None
    if client_error is not None:
        return Status.UNKNOWN, None
    if item is None:
        return Status.MISSING, f"{row.client} no longer has this download"
    if row.desired_paused and item.status in (Status.QUEUED, Status.DOWNLOADING):
        return Status.PAUSED, "pausing"
    if row.meta.get(HELD_MARK) and item.status in (Status.PAUSED, Status.QUEUED):
        return Status.QUEUED, HELD_MESSAGE  # paused by the schedule until its window ends
    if item.status is Status.COMPLETED:
        # finished on the client, not yet recorded by haul (files, processing)
        return Status.PROCESSING, item.message
    return item.status, item.message


def _parent_status(children: dict[str, int]) -> Status:
    """A playlist's status: the most pressing one among its children's."""
    if not children:
        return Status.RESOLVING
    for status in (
        Status.DOWNLOADING,
        Status.RESOLVING,
        Status.PROCESSING,
        Status.QUEUED,
        Status.PAUSED,
        Status.UNKNOWN,
        Status.MISSING,
    ):
        if children.get(status, 0):
            return status
    if children.get(Status.FAILED, 0):
        return Status.FAILED
    if children.get(Status.COMPLETED, 0):
        return Status.COMPLETED
    return Status.CANCELED


def _parent_progress(children: dict[str, int] | None) -> float | None:
    if not children:
        return None
    total = sum(children.values())
    finished = sum(children.get(s, 0) for s in (Status.COMPLETED, Status.FAILED, Status.CANCELED))
    return finished / total if total else None


def files_size(files: list[Any]) -> int | None:
    """The bytes of a download's recorded files (None: no size is known)."""
    sizes = [f.get("size") for f in files if isinstance(f, dict)]
    known = [s for s in sizes if isinstance(s, int)]
    return sum(known) if known else None
