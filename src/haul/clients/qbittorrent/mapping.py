"""qBittorrent torrents to haul's items (pure; 4.x and 5.x names).

qBittorrent 5 renamed ``pausedDL``/``pausedUP`` to ``stoppedDL``/``stoppedUP``; both are
here. A recoverable complaint (stalled, a file move in progress) is a message on a live item,
not a failure. Anything not in the table maps to ``unknown`` with one warning per value.
:func:`to_item` reads one ``torrents/info`` entry, :func:`file_paths` one ``torrents/files``.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Mapping, Sequence
from typing import Any

from haul.core.client_items import ClientItem
from haul.core.status import Status

log = logging.getLogger(__name__)

#: state -> (status, message shown beside it)
STATES: dict[str, tuple[Status, str | None]] = {
    "downloading": (Status.DOWNLOADING, None),
    "forcedDL": (Status.DOWNLOADING, None),
    "metaDL": (Status.DOWNLOADING, "fetching the torrent's metadata"),
    "forcedMetaDL": (Status.DOWNLOADING, "fetching the torrent's metadata"),
    "allocating": (Status.DOWNLOADING, "allocating disk space"),
    "stalledDL": (Status.DOWNLOADING, "stalled: no peer is sending data"),
    "queuedDL": (Status.QUEUED, None),
    "checkingDL": (Status.CHECKING, None),
    "checkingUP": (Status.CHECKING, None),
    "checkingResumeData": (Status.CHECKING, "checking resume data"),
    "pausedDL": (Status.PAUSED, None),
    "stoppedDL": (Status.PAUSED, None),
    "pausedUP": (Status.COMPLETED, None),
    "stoppedUP": (Status.COMPLETED, None),
    "uploading": (Status.SEEDING, None),
    "forcedUP": (Status.SEEDING, None),
    "stalledUP": (Status.SEEDING, "seeding, no peer is downloading"),
    "queuedUP": (Status.SEEDING, "queued for seeding"),
    "moving": (Status.PROCESSING, "the client is moving the files"),
    "error": (Status.FAILED, "the client reported an error"),
    "missingFiles": (Status.FAILED, "the torrent's files are missing on disk"),
    "unknown": (Status.UNKNOWN, "the client does not know the torrent's state"),
}

_warned: set[str] = set()


def map_state(state: str) -> tuple[Status, str | None]:
    """haul's status for a qBittorrent state, and a message to show beside it."""
    found = STATES.get(state)
    if found is not None:
        return found
    if state not in _warned:
        _warned.add(state)
        log.warning("unknown qBittorrent state %r; shown as unknown", state)
    return Status.UNKNOWN, f"unknown qBittorrent state {state!r}"


#: qBittorrent's ETA for "never" (100 days, in seconds).
INFINITE_ETA = 8_640_000


def to_item(raw: Mapping[str, Any]) -> ClientItem:
    """One ``torrents/info`` entry as a :class:`ClientItem` keyed by its info-hash.

    ``completed`` counts verified bytes of the wanted files (what is on disk), unlike
    ``downloaded``, which counts every byte received this session and before, waste included;
    ``size`` is the wanted files' size (``total_size`` counts skipped files too). A magnet
    without metadata yet has size 0: the total is unknown then.
    """
    status, message = map_state(str(raw.get("state") or "unknown"))
    size = _int(raw.get("size"))
    eta = _int(raw.get("eta"))
    speed = raw.get("dlspeed")
    content = content_path(raw)
    ratio = raw.get("ratio")
    seeding = _int(raw.get("seeding_time"))
    return ClientItem(
        ref=str(raw.get("hash") or ""),
        status=status,
        name=str(raw["name"]) if raw.get("name") else None,
        downloaded_bytes=max(0, _int(raw.get("completed")) or 0),
        total_bytes=size if size and size > 0 else None,
        speed=float(speed) if isinstance(speed, int | float) else None,
        eta=float(eta) if eta is not None and 0 <= eta < INFINITE_ETA else None,
        save_path=str(raw["save_path"]) if raw.get("save_path") else None,
        files=(content,) if content else (),
        message=message,
        ratio=float(ratio) if isinstance(ratio, int | float) and ratio >= 0 else None,
        seeding_seconds=float(seeding) if seeding is not None and seeding >= 0 else None,
        raw=dict(raw),
    )


def content_path(raw: Mapping[str, Any]) -> str | None:
    """The torrent's file (one file) or top folder, absolute; None before its metadata.

    qBittorrent gives it relative to the save path for a moment after an add.
    """
    content = raw.get("content_path")
    if not content:
        return None
    return posixpath.join(str(base_path(raw) or ""), str(content))


def base_path(raw: Mapping[str, Any]) -> str | None:
    """Where the torrent's files are now: the incomplete-downloads folder while one is in
    use and the torrent is unfinished, else its save path."""
    download_path = raw.get("download_path")
    progress = raw.get("progress")
    unfinished = isinstance(progress, int | float) and progress < 1
    if download_path and unfinished:
        return str(download_path)
    return str(raw["save_path"]) if raw.get("save_path") else None


def file_paths(raw: Mapping[str, Any], files: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """Absolute paths of a torrent's files from ``torrents/files`` (names are relative)."""
    base = base_path(raw)
    if base is None:
        return ()
    return tuple(posixpath.join(base, str(f["name"])) for f in files if f.get("name"))


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    return None
