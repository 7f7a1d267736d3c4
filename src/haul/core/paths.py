"""Paths that must stay inside a root, the folders of owners, harmless file names and free
names for finished files (pure but for reading links on disk and making a folder that is
missing)."""

from __future__ import annotations

import logging
import os
import re
import unicodedata
from collections.abc import Collection, Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

log = logging.getLogger(__name__)

#: The longest file name haul writes, in UTF-8 bytes.
MAX_NAME_BYTES = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_RESERVED = re.compile(r'[<>:"|?*]')


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


def folder_under(root: Path, folder: str | None) -> Path:
    """``root/folder``, made when missing, if it stays inside ``root`` by its real path
    (checked when used: a link may have appeared since the folder was chosen); else ``root``
    itself, which is never left."""
    if not folder:
        return root
    target = root / folder
    if not inside(target, root):
        log.warning("folder %r leads out of %s; using %s itself", folder, root, root)
        return root
    target.mkdir(parents=True, exist_ok=True)
    return target


#: The folder under the download root that anonymous visitors' folders live in.
VISITORS_FOLDER = "visitors"


def owner_folder(owner_key: str, username: str | None) -> str:
    """The folder, relative to the download root, an owner's new files go to: ``""`` (the
    root itself) for the local user of a single-user instance; ``<user name>-<id>`` for an
    account (``user-<id>`` when the name is not known or can be no folder: one with a
    separator, or starting with a dot), so that no two accounts ever share one, not a later
    account of the same name, nor two names that differ in case on a NAS that ignores it;
    ``visitors/<first 8 of the session id>`` for an anonymous visitor. Never a path that
    leaves the root (see :func:`stays_inside`)."""
    kind, _, rest = owner_key.partition(":")
    if kind == "user":
        usable = (
            username
            and not any(sep in username for sep in "/\\")
            and not username.startswith(".")
            and stays_inside(username)
        )
        folder = f"{username}-{rest}" if usable else f"user-{rest}"
    elif kind == "session":
        folder = f"{VISITORS_FOLDER}/{rest[:8]}"
    else:
        return ""
    return folder if stays_inside(folder) else ""


def entry_root(entry: dict[str, Any], downloads: Path, library: Path) -> Path:
    """The folder a recorded file's path is relative to: the library for an imported file
    (``"root": "library"``), else the downloads folder."""
    return library if entry.get("root") == "library" else downloads


def free_name(folder: Path, name: str, *, taken: Collection[Path] = ()) -> Path:
    """``folder/name``, or ``folder/stem (n).ext`` with the first n not taken yet (neither on
    disk nor in ``taken``)."""
    stem, dot, _ = name.rpartition(".")
    if not dot or not stem:
        stem = name
    [free] = free_names(folder, stem, [name], taken=taken)
    return free


def free_names(
    folder: Path, stem: str, names: Sequence[str], *, taken: Collection[Path] = ()
) -> list[Path]:
    """Free places in ``folder`` for ``names``, which all begin with ``stem`` (a file and the
    files named after it: ``clip.mp4``, ``clip.nfo``, ``clip.en.vtt``): the names as they are
    when none is taken (neither on disk nor in ``taken``), else all with the same first
    number n after the stem that leaves every one free (``clip (1).mp4``, ``clip (1).nfo``),
    so that they keep belonging together."""
    assert all(name.startswith(stem) for name in names), (stem, names)
    for n in range(10_000):
        mark = f" ({n})" if n else ""
        candidates = [folder / (stem + mark + name[len(stem) :]) for name in names]
        if not any(c in taken or c.exists() for c in candidates):
            return candidates
    raise FileExistsError(f"no free name for {stem} in {folder}")


def sanitize_filename(name: str) -> str:
    """``name`` reduced to a harmless base name ("" when nothing usable is left).

    Directories, ``..``, NUL and other control characters go; characters Windows and SMB
    shares refuse become ``_``; leading dots go (no hidden files); the result is cut to 200
    UTF-8 bytes, keeping the extension.
    """
    name = unicodedata.normalize("NFC", name).replace("\\", "/").split("/")[-1]
    name = _RESERVED.sub("_", _CONTROL.sub("", name))
    name = name.strip().lstrip(".").rstrip(". ").strip()
    return _truncate(name, MAX_NAME_BYTES)


def _truncate(name: str, limit: int) -> str:
    if len(name.encode()) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > 16:
        stem, ext = name, ""
    suffix = f".{ext}" if ext else ""
    room = limit - len(suffix.encode())
    return stem.encode()[:room].decode(errors="ignore").rstrip() + suffix
