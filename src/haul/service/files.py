"""Deleting finished files: only inside haul's own folders, counting the space it frees.

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

from haul.core.paths import inside

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Removed:
    files: int = 0
    #: Bytes given back to the filesystem: a file that keeps another hard link frees none.
    freed_bytes: int = 0


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
    return Removed(files=len(gone), freed_bytes=freed)


def _prune(folder: Path, root: Path, keep: Sequence[Path]) -> None:
    kept = {os.path.realpath(k) for k in keep}
    while inside(folder, root) and os.path.realpath(folder) not in kept:
        try:
            folder.rmdir()  # only when empty
        except OSError:
            return
        folder = folder.parent
