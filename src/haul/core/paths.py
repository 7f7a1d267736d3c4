"""Paths that must stay inside a root, and free names for finished files (pure)."""

from __future__ import annotations

import os
import re
from collections.abc import Collection
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any


def inside(path: Path, root: Path) -> bool:
    """Whether ``path`` (after resolving links and ``..``) lies strictly inside ``root``."""
    real = Path(os.path.realpath(path))
    base = Path(os.path.realpath(root))
    return real != base and base in real.parents


def stays_inside(relative: str) -> bool:
    """Whether a relative path a person wrote (a folder, an output template) stays inside the
    folder it is joined to, by its text alone: not empty, not absolute in POSIX or Windows
    terms (no drive, no UNC share), no ``~``, no ``..`` segment, no NUL."""
    text = relative.strip()
    if not text or "\x00" in text or text.startswith(("/", "\\", "~")):
        return False
    posix, windows = PurePosixPath(text), PureWindowsPath(text)
    if posix.is_absolute() or windows.drive or windows.root:
        return False
    return ".." not in posix.parts and ".." not in windows.parts


#: ``$NAME`` or ``${NAME}``, which yt-dlp replaces in an output template with an environment
#: variable (``$PWD/%(title)s`` writes into haul's working folder, wherever that is).
_ENVIRONMENT = re.compile(r"\$(\w|\{)")


def template_stays_inside(template: str) -> bool:
    """:func:`stays_inside` for a yt-dlp output template, which must not name an environment
    variable either (yt-dlp expands them before it fills in the fields)."""
    return stays_inside(template) and _ENVIRONMENT.search(template) is None


def entry_root(entry: dict[str, Any], downloads: Path, library: Path) -> Path:
    """The folder a recorded file's path is relative to: the library for an imported file
    (``"root": "library"``), else the downloads folder."""
    return library if entry.get("root") == "library" else downloads


def free_name(folder: Path, name: str, *, taken: Collection[Path] = ()) -> Path:
    """``folder/name``, or ``folder/stem (n).ext`` with the first n not taken yet (neither on
    disk nor in ``taken``)."""
    candidate = folder / name
    if candidate not in taken and not candidate.exists():
        return candidate
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    for n in range(1, 10_000):
        candidate = folder / (f"{stem} ({n}).{ext}" if ext else f"{stem} ({n})")
        if candidate not in taken and not candidate.exists():
            return candidate
    raise FileExistsError(f"no free name for {name} in {folder}")
