"""The ``.part`` file of a direct download: a free name, opening it, its size, its validator.

The validator (strong ETag, else Last-Modified) of the response that started a part is kept in
the part's ``user.haul.validator`` extended attribute, so a resume can send it as ``If-Range``,
its Last-Modified date in ``user.haul.modified`` and the size of the whole file in
``user.haul.total``, so a paused part shows how far along it is. A resume compares all three
with the answer it gets (:func:`haul.engine.answer.changed_since`). Filesystems without
extended attributes simply fall back to the hints resolve gathered.

A part fetched over several connections (:mod:`haul.engine.segmented`) has holes until it is
complete, so its size says nothing of what it holds: the ranges on disk are kept beside it, in
``<name>.part.ranges`` (JSON, replaced atomically), written before any byte lands past the
part's unbroken start and removed when the part becomes the file. A resume fetches only the
ranges missing from it; a part without one holds exactly its size, as always.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import BinaryIO

from haul.engine.answer import PartSource
from haul.engine.filenames import PART_SUFFIX, numbered, part_path
from haul.engine.http_errors import disk_error
from haul.errors import PermanentTransferError

_VALIDATOR_XATTR = "user.haul.validator"
_TOTAL_XATTR = "user.haul.total"
_MODIFIED_XATTR = "user.haul.modified"
_MAX_TRIES = 10_000


def claim(folder: Path, base: str) -> str:
    """A free name for ``base`` in ``folder``, its ``.part`` created exclusively.

    ``base`` itself when neither it nor its part exists, else ``base (1).ext``, ``(2)``...
    The exclusive create makes two jobs racing for one name end with two names.
    """
    for n in range(_MAX_TRIES):
        name = base if n == 0 else numbered(base, n)
        final = folder / name
        if final.exists():
            continue
        try:
            part_path(final).open("xb").close()
        except FileExistsError:
            continue
        except OSError as exc:
            raise disk_error(exc, final) from exc
        return name
    raise PermanentTransferError(f"No free file name left for {base}.", code="local_io")


def open_part(part: Path, offset: int, buffering: int, *, keep: bool = False) -> BinaryIO:
    """``part`` opened for writing at ``offset``; from 0, earlier bytes go but nothing is truncated.

    Truncating (``"wb"`` on an existing file, even an empty one just claimed) arms ext4's
    ``auto_da_alloc``, which makes close() write the whole file back and wait for it: 0.3 s
    per GiB, measured, on the event loop. So a part written from 0 is created without O_TRUNC,
    and a non-empty one is unlinked first (its validator goes with it), unless ``keep``: a
    part fetched in ranges, resumed where its first range is missing.
    """
    if offset == 0 and not keep and size_of(part) > 0:
        part.unlink()
    file = os.fdopen(os.open(part, os.O_WRONLY | os.O_CREAT, 0o666), "wb", buffering=buffering)
    file.seek(offset)
    return file


#: What a part that filled its disk gives back (see :func:`give_back`).
GIVE_BACK = 1 << 20


def give_back(part: Path) -> None:
    """Cut the last :data:`GIVE_BACK` bytes off a part that filled its disk (best effort).

    A disk filled to the last byte also stops the database when it lies on it (the default
    layout keeps the downloads inside the data folder), and then not even the wait for space
    can be recorded. The bytes cut are fetched again on resume, which starts at the part's end.
    """
    with contextlib.suppress(OSError):
        os.truncate(part, max(0, part.stat().st_size - GIVE_BACK))


def size_of(path: Path) -> int:
    """The size of ``path``, 0 when it does not exist."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
    except OSError as exc:
        raise disk_error(exc, path) from exc


def read_validator(part: Path) -> str | None:
    """The validator stored on ``part``, if any."""
    if hasattr(os, "getxattr"):
        with contextlib.suppress(OSError):
            return os.getxattr(part, _VALIDATOR_XATTR).decode()
    return None


def store_validator(fd: int, validator: str, last_modified: str | None = None) -> None:
    """Remember what the part was cut from; best effort (not every filesystem has xattrs)."""
    if hasattr(os, "setxattr"):
        with contextlib.suppress(OSError):
            os.setxattr(fd, _VALIDATOR_XATTR, validator.encode())
            if last_modified:
                os.setxattr(fd, _MODIFIED_XATTR, last_modified.encode())


def read_source(part: Path) -> PartSource:
    """What ``part`` was cut from, as far as its extended attributes say."""
    modified = None
    if hasattr(os, "getxattr"):
        with contextlib.suppress(OSError, UnicodeDecodeError):
            modified = os.getxattr(part, _MODIFIED_XATTR).decode()
    return PartSource(read_validator(part), modified, read_total(part))


def store_total(fd: int, total: int | None) -> None:
    """Remember the size of the whole file (None: not known, forget an older one), so that a
    paused or waiting part can say how far along it is (best effort, like the validator)."""
    with contextlib.suppress(OSError, AttributeError):
        if total is None:
            os.removexattr(fd, _TOTAL_XATTR)
        else:
            os.setxattr(fd, _TOTAL_XATTR, str(total).encode())


def read_total(part: Path) -> int | None:
    """The size of the whole file stored on ``part``, if any."""
    if hasattr(os, "getxattr"):
        with contextlib.suppress(OSError, ValueError):
            return int(os.getxattr(part, _TOTAL_XATTR))
    return None


def drop_validator(part: Path) -> None:
    """Forget the validator and the total, before the part becomes the finished file."""
    if hasattr(os, "removexattr"):
        for name in (_VALIDATOR_XATTR, _MODIFIED_XATTR, _TOTAL_XATTR):
            with contextlib.suppress(OSError):
                os.removexattr(part, name)


RANGES_SUFFIX = ".ranges"


def ranges_path(part: Path) -> Path:
    """Where the ranges on disk of a part fetched in ranges are kept."""
    return part.with_name(part.name + RANGES_SUFFIX)


def read_ranges(part: Path) -> tuple[int, list[tuple[int, int]]] | None:
    """The total and the ranges on disk kept for ``part``; None when none are kept, or
    what is kept is unreadable (the part is then not to be trusted beyond nothing)."""
    try:
        data = json.loads(ranges_path(part).read_text(encoding="utf-8"))
        total = data["total"]
        spans = [(int(a), int(b)) for a, b in data["done"]]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return (0, [])
    if not isinstance(total, int) or total < 0:
        return (0, [])
    return total, spans


def held(part: Path, size: int) -> int:
    """The bytes ``part`` (of ``size`` bytes on disk) holds: its size, or for a part fetched
    in ranges (which has holes), the ranges kept for it."""
    stored = read_ranges(part)
    if stored is None:
        return size
    return sum(b - a for a, b in stored[1] if 0 <= a < b)


def is_ranges_file(name: str) -> bool:
    """Whether ``name`` is the ranges kept beside a part (or the next one being written)."""
    return name.endswith((PART_SUFFIX + RANGES_SUFFIX, PART_SUFFIX + RANGES_SUFFIX + ".new"))


def store_ranges(part: Path, total: int, spans: list[tuple[int, int]]) -> None:
    """Keep ``spans`` as the ranges on disk of ``part`` (atomically: a crash leaves the old
    list or the new one)."""
    path = ranges_path(part)
    temporary = path.with_name(path.name + ".new")
    text = json.dumps({"total": total, "done": [list(s) for s in spans]})
    try:
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    except OSError as exc:
        raise disk_error(exc, path) from exc


def drop_ranges(part: Path) -> None:
    """Forget the ranges kept for ``part`` (it is whole, or holds its size again)."""
    path = ranges_path(part)
    for stale in (path, path.with_name(path.name + ".new")):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
