"""Room on the disk for direct downloads: what is free, and what running transfers still need.

A download whose length is known claims the bytes it still has to write before it writes any
(:meth:`DiskSpace.claim`); the claim shrinks as bytes land (:meth:`DiskSpace.wrote`) and goes
when the transfer ends. One that does not fit beside the others' claims is refused with
:class:`~haul.errors.DiskFull` before it makes a file, so it never eats the room of downloads
that would fit and then fails half-way with all of them. The claims are this process's; other
processes writing to the same disk show only in what the disk reports free, and a write that
still finds the disk full fails with :class:`~haul.errors.DiskFull` as well.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from haul.core.units import size_text
from haul.errors import DiskFull


def free_bytes(folder: Path) -> int:
    """Bytes an unprivileged writer may still use on the disk of ``folder`` (or of its
    nearest existing parent); 0 when nothing can be asked."""
    for candidate in (folder, *folder.parents):
        try:
            return shutil.disk_usage(candidate).free
        except FileNotFoundError:
            continue
        except OSError:
            return 0
    return 0


def waiting_message(free: int, needed: int | None) -> str:
    """What a download waiting for room says, e.g. ``Waiting for disk space: 120.0 MB free,
    300.0 MB needed.``"""
    wanted = f", {size_text(needed)} needed" if needed is not None else ""
    return f"Waiting for disk space: {size_text(free)} free{wanted}."


class DiskSpace:
    """The claims of the transfers one engine runs (used on its event loop only)."""

    def __init__(self, free: Callable[[Path], int] = free_bytes) -> None:
        self._free = free
        self._claims: dict[Path, int] = {}  # a transfer's folder -> bytes it still has to write

    def claim(self, folder: Path, needed: int) -> None:
        """Claim ``needed`` bytes for the transfer writing into ``folder`` (its own), or raise
        DiskFull when they do not fit beside the other transfers' claims."""
        others = sum(n for key, n in self._claims.items() if key != folder)
        room = self._free(folder) - others
        if needed > room:
            room = max(0, room)
            raise DiskFull(waiting_message(room, needed), needed=needed, free=room)
        self._claims[folder] = needed

    def wrote(self, folder: Path, remaining: int) -> None:
        """The transfer into ``folder`` has ``remaining`` bytes still to write."""
        if folder in self._claims:
            self._claims[folder] = max(0, remaining)

    def release(self, folder: Path) -> None:
        self._claims.pop(folder, None)
