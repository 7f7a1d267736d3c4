"""Deleting finished files: only inside haul's own folders, counting the space it frees.

A download's own data is what it left in the downloads folder. A file it filed into the
library belongs to the library (its media item), whichever folder holds it: deleting a
download's files, by hand or by retention, never touches it; only deleting the media item
with its files does.

Blocking (``stat``, ``unlink``): call it in a thread when many files may go.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from typing import Any

from haul.core.paths import inside
from haul.store.media_files import Recorded

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Removed:
    files: int = 0
    #: Bytes given back to the filesystem: a file that keeps another hard link frees none.
    freed_bytes: int = 0
    #: The files deleted (dry run: that would be), by their real paths.
    paths: tuple[Path, ...] = ()


@dataclass(frozen=True, slots=True)
class Folders:
    downloads: Path
    library: Path

    def absolute(self, stored: str) -> Path:
        path = Path(stored)
        return path if path.is_absolute() else self.downloads / path

    def library_files(self, entries: Iterable[Any], records: Iterable[Recorded]) -> frozenset[str]:
        """The real paths of what a download filed into the library."""
        found = {
            os.path.realpath(self.library / str(entry["path"]))
            for entry in entries
            if isinstance(entry, dict) and entry.get("path") and entry.get("root") == "library"
        }
        found.update(os.path.realpath(self.absolute(r.path)) for r in records if r.imported)
        return frozenset(found)

    def own_data(
        self, entries: Iterable[Any], records: Iterable[Recorded], more: Iterable[Path] = ()
    ) -> list[Path]:
        """A download's own files among its recorded ``entries`` (``Download.files``), its
        media file ``records`` (where an imported file was before: a copy or a link left for
        a client to seed) and ``more`` (its client's files, its partial data): those inside
        the downloads folder and not the library's."""
        entries, records = list(entries), list(records)
        candidates = [
            self.downloads / str(entry["path"])
            for entry in entries
            if isinstance(entry, dict) and entry.get("path") and entry.get("root") != "library"
        ]
        for record in records:
            if record.original_path:
                candidates.append(self.absolute(record.original_path))
            if not record.imported:
                candidates.append(self.absolute(record.path))
        candidates.extend(more)
        kept = self.library_files(entries, records)
        # A library folder apart from the downloads folder is the library's whole; one that
        # holds the downloads folder is told apart by the records alone.
        apart = not (
            os.path.realpath(self.library) == os.path.realpath(self.downloads)
            or inside(self.downloads, self.library)
        )
        return [
            path
            for path in candidates
            if inside(path, self.downloads)
            and os.path.realpath(path) not in kept
            and not (apart and inside(path, self.library))
        ]


def remove_inside(
    paths: Iterable[Path],
    roots: Sequence[Path],
    *,
    dry_run: bool = False,
    keep_dirs: Sequence[Path] = (),
) -> Removed:
    """Delete the files among ``paths`` that lie inside one of ``roots`` (after resolving
    links and ``..``); a path outside them is left alone and logged. Folders emptied by the
    deletion go too, up to (never including) their root or one of ``keep_dirs``.

    ``dry_run``: delete nothing, say what would go. Hard links are counted once: a file's
    bytes are freed when every link of it is among the deleted paths.
    """
    found: dict[Path, tuple[Path, os.stat_result, Path]] = {}
    for path in paths:
        root = next((r for r in roots if inside(path, r)), None)
        if root is None:
            log.warning("not deleting %s: outside %s", path, " and ".join(map(str, roots)))
            continue
        real = Path(os.path.realpath(path))
        if real in found:
            continue
        try:
            stat = real.stat()
        except OSError:
            continue  # already gone
        if not S_ISREG(stat.st_mode):
            continue
        found[real] = (real, stat, root)
    gone: list[tuple[Path, os.stat_result]] = []
    for real_path, stat, root in found.values():
        if not dry_run:
            try:
                real_path.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:
                log.warning("could not delete %s: %s", real_path, exc)
                continue
            _prune(real_path.parent, root, keep_dirs)
        gone.append((real_path, stat))
    links = Counter((stat.st_dev, stat.st_ino) for _, stat in gone)
    inodes = {(stat.st_dev, stat.st_ino): stat for _, stat in gone}
    freed = sum(stat.st_size for inode, stat in inodes.items() if links[inode] >= stat.st_nlink)
    return Removed(files=len(gone), freed_bytes=freed, paths=tuple(path for path, _ in gone))


def _prune(folder: Path, root: Path, keep: Sequence[Path]) -> None:
    kept = {os.path.realpath(k) for k in keep}
    while inside(folder, root) and os.path.realpath(folder) not in kept:
        try:
            folder.rmdir()  # only when empty
        except OSError:
            return
        folder = folder.parent
