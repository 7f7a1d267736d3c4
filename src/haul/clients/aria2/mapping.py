"""aria2's answers in haul's words (pure: no I/O).

aria2 reports one of six ``status`` values per download; :data:`STATUS_TABLE` maps each to a
:class:`~haul.core.status.Status`. Two rows need a second field: an ``active`` torrent that
only uploads (``seeder == "true"``) is seeding, and an ``error`` is a failed transfer whose
reason is in ``errorCode``/``errorMessage``. A status this table does not know maps to
``Status.UNKNOWN`` and is logged once per value.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Mapping
from typing import Any

from haul.core.client_items import ClientItem
from haul.core.status import Status

log = logging.getLogger(__name__)

#: aria2 ``status`` to haul's status (``active`` may become seeding, see :func:`map_status`).
STATUS_TABLE: Mapping[str, Status] = {
    "active": Status.DOWNLOADING,
    "waiting": Status.QUEUED,
    "paused": Status.PAUSED,
    "error": Status.FAILED,
    "complete": Status.COMPLETED,
    "removed": Status.CANCELED,
}

#: aria2 statuses of a download it still works on (``tellActive`` and ``tellWaiting``).
LIVE_STATES = frozenset({"active", "waiting", "paused"})

#: aria2 exit codes a retry may fix: time-out (2), network problem (6), name resolution
#: failed (19), the server was too busy (29).
RETRYABLE_ERROR_CODES = frozenset({2, 6, 19, 29})

#: The keys haul asks aria2 for in bulk listings (asking for all of them costs 3x).
ITEM_KEYS = (
    "gid",
    "status",
    "totalLength",
    "completedLength",
    "downloadSpeed",
    "errorCode",
    "errorMessage",
    "dir",
    "files",
    "bittorrent",
    "seeder",
    "followedBy",
    "following",
)

#: How many times one download may be followed by another (a magnet's metadata by its
#: torrent's download is once) before haul stops looking further.
MAX_FOLLOW = 3

_warned: set[str] = set()


def map_status(raw: Mapping[str, Any]) -> Status:
    """haul's status for one aria2 download (raw ``tellStatus`` dict)."""
    native = str(raw.get("status", ""))
    status = STATUS_TABLE.get(native)
    if status is None:
        if native not in _warned:
            _warned.add(native)
            log.warning("aria2 reported an unknown status %r; shown as unknown", native)
        return Status.UNKNOWN
    if status is Status.DOWNLOADING and raw.get("seeder") == "true":
        return Status.SEEDING
    return status


def is_retryable(code: int | str | None) -> bool:
    """Whether aria2's error code (an int, or the string it sends) names a passing problem."""
    number = _int(code)
    return number is not None and number in RETRYABLE_ERROR_CODES


def error_code(raw: Mapping[str, Any]) -> int | None:
    """aria2's error code of a download, or None when it reports no error."""
    number = _int(raw.get("errorCode"))
    return number if number else None


def error_message(raw: Mapping[str, Any]) -> str | None:
    """The reason an ``error`` download failed, in aria2's words, with its code."""
    if raw.get("status") != "error":
        return None
    code = error_code(raw)
    text = str(raw.get("errorMessage") or "").strip()
    if text and code is not None:
        return f"{text} (aria2 error {code})"
    if text:
        return text
    return f"aria2 error {code}" if code is not None else "aria2 reported an error"


def item_name(raw: Mapping[str, Any]) -> str | None:
    """The torrent's name, else the first file's name, else the first URI's last segment."""
    info = (raw.get("bittorrent") or {}).get("info") or {}
    if info.get("name"):
        return str(info["name"])
    files = raw.get("files") or []
    if files:
        first = files[0]
        if first.get("path"):
            return posixpath.basename(str(first["path"]))
        for uri in first.get("uris") or []:
            tail = str(uri.get("uri", "")).split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
            if tail:
                return tail
    return None


def file_paths(raw: Mapping[str, Any], *, selected_only: bool = True) -> tuple[str, ...]:
    """The paths of an item's files that aria2 knows a path for."""
    paths = []
    for entry in raw.get("files") or []:
        if selected_only and entry.get("selected") == "false":
            continue
        if entry.get("path"):
            paths.append(str(entry["path"]))
    return tuple(paths)


def follower(raw: Mapping[str, Any]) -> str | None:
    """The GID of the download that goes on for ``raw`` once aria2 completed it (its
    ``followedBy``: a magnet's metadata is followed by the torrent's download), or None."""
    after = raw.get("followedBy") or []
    return str(after[0]) if raw.get("status") == "complete" and after else None


def followed(listed: Mapping[str, Mapping[str, Any]], gid: str) -> Mapping[str, Any] | None:
    """The download that goes on for ``gid`` among the ``listed`` ones (by GID): itself, or
    the one that follows it (:func:`follower`). None: ``gid`` is not listed."""
    raw = listed.get(gid)
    for _ in range(MAX_FOLLOW):
        after = follower(raw) if raw is not None else None
        if after is None or after not in listed:
            break
        raw = listed[after]
    return raw


def to_item(raw: Mapping[str, Any]) -> ClientItem:
    """One :class:`ClientItem` from a raw aria2 download dict (kept whole in ``raw``)."""
    status = map_status(raw)
    done = _int(raw.get("completedLength")) or 0
    total = _int(raw.get("totalLength")) or None  # 0 until aria2 knows the size
    if status is Status.COMPLETED and total is None:
        total = done
    speed = float(_int(raw.get("downloadSpeed")) or 0)
    eta = None
    if status is Status.DOWNLOADING and total is not None and speed > 0:
        eta = max(0, total - done) / speed
    return ClientItem(
        ref=str(raw.get("gid", "")),
        status=status,
        name=item_name(raw),
        downloaded_bytes=done,
        total_bytes=total,
        speed=speed,
        eta=eta,
        save_path=str(raw["dir"]) if raw.get("dir") else None,
        files=file_paths(raw),
        message=error_message(raw),
        raw=dict(raw),
    )


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    return None
