"""Transmission torrent status (0-6) and error fields to haul's status, and a torrent-get
answer to a :class:`~haul.core.client_items.ClientItem` (pure).

``status`` is 0 stopped, 1 queued to check, 2 checking, 3 queued to download,
4 downloading, 5 queued to seed, 6 seeding. A stopped torrent that has all its data is
complete, otherwise paused. ``error`` is 0 none, 1 tracker warning, 2 tracker error (both
recoverable: a message on a live item), 3 local error (the transfer failed), with
``errorString`` saying what.
"""

from __future__ import annotations

import logging
from pathlib import PurePath
from typing import Any

from haul.core.client_items import ClientItem
from haul.core.status import Status

log = logging.getLogger(__name__)

STATUS: dict[int, Status] = {
    0: Status.PAUSED,
    1: Status.CHECKING,
    2: Status.CHECKING,
    3: Status.QUEUED,
    4: Status.DOWNLOADING,
    5: Status.SEEDING,
    6: Status.SEEDING,
}
MESSAGES: dict[int, str] = {1: "waiting to check the data", 5: "queued for seeding"}

TRACKER_WARNING, TRACKER_ERROR, LOCAL_ERROR = 1, 2, 3

_warned: set[int] = set()


def map_status(
    status: int, *, done: bool, error: int = 0, error_string: str = ""
) -> tuple[Status, str | None]:
    """haul's status and message for one torrent; ``done`` is Transmission's percentDone == 1
    (or ``isFinished``)."""
    if error == LOCAL_ERROR:
        return Status.FAILED, error_string or "Transmission reported a local error"
    mapped = STATUS.get(status)
    if mapped is None:
        if status not in _warned:
            _warned.add(status)
            log.warning("unknown Transmission status %r; shown as unknown", status)
        return Status.UNKNOWN, f"unknown Transmission status {status!r}"
    if mapped is Status.PAUSED and done:
        mapped = Status.COMPLETED
    message = MESSAGES.get(status)
    if error in (TRACKER_WARNING, TRACKER_ERROR):
        kind = "tracker warning" if error == TRACKER_WARNING else "tracker error"
        message = f"{kind}: {error_string}" if error_string else kind
    return mapped, message


#: What ``torrent-get`` asks for a listing: only what :func:`to_item` reads.
ITEM_FIELDS: tuple[str, ...] = (
    "hashString",
    "name",
    "status",
    "error",
    "errorString",
    "percentDone",
    "isFinished",
    "sizeWhenDone",
    "leftUntilDone",
    "metadataPercentComplete",
    "rateDownload",
    "eta",
    "downloadDir",
    "labels",
    "uploadRatio",
    "secondsSeeding",
)
#: What ``torrent-get`` asks to list one torrent's files.
FILE_FIELDS: tuple[str, ...] = ("hashString", "downloadDir", "labels", "files")
METADATA_MESSAGE = "waiting for peers to send the torrent's metadata"


def to_item(raw: dict[str, Any]) -> ClientItem:
    """One torrent of a ``torrent-get`` answer (with :data:`ITEM_FIELDS`) as haul sees it.

    Bytes are those of the wanted files: ``sizeWhenDone`` in all, of which ``leftUntilDone``
    are missing (Transmission's own ``percentDone`` is the same ratio). A magnet link whose
    metadata has not arrived yet has no size. ``eta`` and ``uploadRatio`` below 0 mean
    unknown (-2 for a ratio is "infinite": uploaded with nothing to compare to).
    """
    size = _int(raw.get("sizeWhenDone"))
    left = _int(raw.get("leftUntilDone"))
    has_metadata = _number(raw.get("metadataPercentComplete"), 1.0) >= 1.0
    done = has_metadata and (
        _number(raw.get("percentDone"), 0.0) >= 1.0 or raw.get("isFinished") is True
    )
    status, message = map_status(
        _int(raw.get("status"), -1),
        done=done,
        error=_int(raw.get("error")),
        error_string=str(raw.get("errorString") or ""),
    )
    if not has_metadata and message is None and status is Status.DOWNLOADING:
        message = METADATA_MESSAGE
    eta = _int(raw.get("eta"), -1)
    ratio = _number(raw.get("uploadRatio"), -1.0)
    seeding = _int(raw.get("secondsSeeding"), -1)
    return ClientItem(
        ref=str(raw.get("hashString", "")).lower(),
        status=status,
        name=raw.get("name") or None,
        downloaded_bytes=max(0, size - left) if has_metadata else 0,
        total_bytes=size if has_metadata and size > 0 else None,
        speed=float(_int(raw.get("rateDownload"))),
        eta=float(eta) if eta >= 0 else None,
        save_path=raw.get("downloadDir") or None,
        message=message,
        ratio=ratio if ratio >= 0 else None,
        seeding_seconds=float(seeding) if seeding >= 0 else None,
        raw=raw,
    )


def file_paths(raw: dict[str, Any]) -> tuple[str, ...]:
    """Absolute paths of a torrent's files (a ``torrent-get`` answer with :data:`FILE_FIELDS`);
    a multi-file torrent's names already start with its folder."""
    root = PurePath(str(raw.get("downloadDir") or ""))
    return tuple(str(root / str(f["name"])) for f in raw.get("files") or () if f.get("name"))


def has_label(raw: dict[str, Any], label: str) -> bool:
    labels = raw.get("labels")
    return isinstance(labels, list) and label in labels


def _int(value: object, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _number(value: object, default: float) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return default
