"""What a download client reports about one transfer (a plain value, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from haul.core.status import Status


@dataclass(frozen=True, slots=True)
class ClientItem:
    """A client's live snapshot of one transfer."""

    ref: str
    status: Status
    name: str | None = None
    downloaded_bytes: int = 0
    total_bytes: int | None = None
    speed: float | None = None
    eta: float | None = None
    save_path: str | None = None
    files: tuple[str, ...] = ()
    message: str | None = None  # a warning on a still-live item, or the client's error
    ratio: float | None = None  # uploaded / downloaded, for a seeding goal
    seeding_seconds: float | None = None  # time spent seeding, for a seeding goal
    raw: dict[str, Any] = field(default_factory=dict)
    #: A live stream being recorded, and the seconds of it recorded so far.
    live: bool = False
    recorded_seconds: float | None = None

    @property
    def progress(self) -> float | None:
        if self.status in (Status.COMPLETED, Status.SEEDING):
            return 1.0
        if not self.total_bytes:
            return None
        return min(1.0, self.downloaded_bytes / self.total_bytes)
