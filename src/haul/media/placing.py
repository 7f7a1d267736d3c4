"""Putting a finished file at its library path: hardlink, move or copy, never clobbering.

Blocking filesystem work: run it in a thread. The rules:

- while a client still seeds the file, it must stay where the client has it: a hardlink when
  the library is on the same filesystem (no space used twice), else a copy;
- otherwise the file moves (a rename on one filesystem; across filesystems a copy, then the
  original is removed), and when the original cannot be removed (read-only source) the copy
  stays and the original too;
- a name already taken by another file gets `` (2)``, `` (3)`` ...; the same file already at
  the target (a second run of an import after a crash) is recognised and kept;
- a side file of a main file that was found already there (``replace``) takes the name beside
  it, in place of the side file of that name: it never gets a number of its own;
- the target never leaves the library root, checked on the real path of its folder once that
  folder exists (a symlink inside the library cannot send a file elsewhere);
- a copy is written under a temporary name and linked into place, so a reader never sees half
  a file and a concurrent import cannot overwrite it.
"""

from __future__ import annotations

import errno
import filecmp
import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from haul.core.paths import inside
from haul.errors import OutsideLibrary
from haul.media.naming import with_suffix_number

Mode = Literal["hardlink", "move", "copy", "existing"]
MAX_NUMBERED = 99


@dataclass(frozen=True, slots=True)
class Placed:
    source: Path
    target: Path
    mode: Mode


def place(
    source: Path,
    target: Path,
    *,
    root: Path,
    keep_source: bool,
    sides: Sequence[str] = (),
    replace: bool = False,
) -> Placed:
    """Put ``source`` at ``target`` (or a free name beside it) inside ``root``.

    ``sides``: how the names of the files that follow it end (``.nfo``, ``-thumb.jpg``,
    ``.en.srt``, after its name without extension): a free name is one whose side names are
    free too, so that they can all carry the same number (:func:`side_target`).
    ``replace``: a file of another content at ``target`` gives way to ``source`` (a side file
    of a main file already there), atomically, instead of ``source`` taking another name."""
    root = root.resolve()
    if not inside(target, root):
        raise OutsideLibrary(f"{target} is outside the library {root}.")
    target.parent.mkdir(parents=True, exist_ok=True)
    folder = target.parent.resolve()
    if folder != root and not inside(folder, root):
        raise OutsideLibrary(f"{target.parent} leads outside the library {root}.")
    target = folder / target.name
    if not source.exists():
        if target.exists():  # an earlier run moved it and was cut off before recording it
            return Placed(source, target, "existing")
        raise FileNotFoundError(errno.ENOENT, "the downloaded file is gone", str(source))
    same_fs = source.stat().st_dev == folder.stat().st_dev
    if replace and target.exists() and not _same_file(source, target):
        return Placed(source, target, _replace(source, target, same_fs=same_fs, keep=keep_source))
    for n in range(1, MAX_NUMBERED + 1):
        candidate = target if n == 1 else folder / with_suffix_number(target.name, n)
        if candidate.exists() and _same_file(source, candidate):
            if not keep_source and not candidate.samefile(source):
                source.unlink(missing_ok=True)
            return Placed(source, candidate, "existing")
        if any(side_target(candidate, ending).exists() for ending in sides):
            continue  # its side files would not be able to follow its name
        try:
            mode = _put(source, candidate, same_fs=same_fs, keep_source=keep_source)
        except FileExistsError:
            continue  # taken (perhaps just now, by another import): the next number
        return Placed(source, candidate, mode)
    raise FileExistsError(errno.EEXIST, "no free name left", str(target))


def side_target(main: Path, ending: str) -> Path:
    """Where a side file ending its name with ``ending`` goes beside ``main`` (its name without
    extension, then the ending): ``Heat (1995) (2).nfo`` beside ``Heat (1995) (2).mkv``."""
    return main.with_name(main.name[: len(main.name) - len(main.suffix)] + ending)


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.samefile(b):
            return True
        return a.stat().st_size == b.stat().st_size and filecmp.cmp(a, b, shallow=False)
    except OSError:
        return False


def _put(source: Path, target: Path, *, same_fs: bool, keep_source: bool) -> Mode:
    """Link, move or copy ``source`` to ``target``; FileExistsError when the name is taken."""
    if same_fs:
        try:
            os.link(source, target)  # fails on an existing name: nothing is overwritten
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EXDEV, errno.EMLINK, errno.ENOTSUP):
                raise
        else:
            if keep_source:
                return "hardlink"
            try:
                source.unlink()
            except OSError:
                return "hardlink"  # the original could not go: two names, one file
            return "move"
    _copy_no_clobber(source, target)
    if keep_source:
        return "copy"
    try:
        source.unlink()
    except OSError:
        return "copy"
    return "move"


def _replace(source: Path, target: Path, *, same_fs: bool, keep: bool) -> Mode:
    """Put ``source`` in place of the file at ``target``: under a temporary name first, then
    renamed over it, so a reader sees the old file or the new one, never a part."""
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.haul-part")
    try:
        mode = _put(source, temp, same_fs=same_fs, keep_source=True)
        temp.replace(target)
    finally:
        temp.unlink(missing_ok=True)
    if keep:
        return mode
    try:
        source.unlink()
    except OSError:
        return mode  # the original could not go: it stays beside its copy
    return "move"


def _copy_no_clobber(source: Path, target: Path) -> None:
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.haul-part")
    try:
        shutil.copy2(source, temp)
        try:
            os.link(temp, target)  # FileExistsError when taken meanwhile
        except FileExistsError:
            raise
        except OSError as exc:  # a filesystem without hardlinks (FAT, some FUSE mounts)
            if exc.errno not in (errno.EPERM, errno.ENOTSUP) or target.exists():
                raise
            temp.replace(target)
    finally:
        temp.unlink(missing_ok=True)
