"""Which client takes a download (pure).

- a magnet or a .torrent goes to the enabled torrent client with the best priority (lowest
  number; a dedicated torrent client before aria2, which can also fetch torrents);
- a direct file goes to an enabled aria2 that is preferred for direct files, else to the
  built-in engine; a page (yt-dlp) always goes to the built-in engine;
- a client the user names is used when it can take that kind of source, and refused with a
  sentence when it cannot;
- a torrent client that cannot be reached (``down``) is passed over for the next one that can
  take the source, unless the user named it; when every able client is down the preferred one
  is kept (the download waits for it).

``None`` stands for the built-in engine.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Literal

from haul.errors import NoClient, UnknownClient

BUILTIN = "builtin"
#: What a source turned out to be: a torrent (magnet or .torrent), a direct file, a page.
SourceKind = Literal["torrent", "file", "media"]
TORRENT_KINDS = ("qbittorrent", "transmission", "aria2")  # in order of preference
FILE_KINDS = ("aria2",)
KIND_LABEL = {"aria2": "aria2", "qbittorrent": "qBittorrent", "transmission": "Transmission"}


@dataclass(frozen=True, slots=True)
class Candidate:
    name: str
    kind: str
    priority: int = 1
    enabled: bool = True
    prefer_for_files: bool = False


def can_take(kind: str, source: SourceKind) -> bool:
    if source == "torrent":
        return kind in TORRENT_KINDS
    if source == "file":
        return kind in FILE_KINDS or kind == BUILTIN
    return kind == BUILTIN


def check_requested(name: str | None, candidates: Iterable[Candidate]) -> None:
    """Refuse at submit a client name that is not configured (before anything is stored)."""
    if name is None or name == BUILTIN:
        return
    known = {c.name: c for c in candidates}
    if name not in known:
        names = ", ".join(sorted([BUILTIN, *known]))
        raise UnknownClient(f"There is no download client named {name!r}; there are: {names}.")
    if not known[name].enabled:
        raise UnknownClient(f"The download client {name!r} is disabled.")


def route(
    source: SourceKind,
    candidates: Iterable[Candidate],
    requested: str | None = None,
    *,
    down: Collection[str] = (),
) -> str | None:
    """The client that takes a ``source`` (None: the built-in engine), or :class:`NoClient`;
    ``down``: the clients that cannot be reached now (see the module docstring)."""
    pool = [c for c in candidates if c.enabled]
    if requested is not None and requested != BUILTIN:
        chosen = next((c for c in pool if c.name == requested), None)
        if chosen is None:
            raise NoClient(f"The download client {requested!r} is not configured or disabled.")
        if not can_take(chosen.kind, source):
            raise NoClient(
                f"{requested} ({KIND_LABEL.get(chosen.kind, chosen.kind)}) cannot download "
                f"{_describe(source)}."
            )
        return chosen.name
    if source == "torrent":
        if requested == BUILTIN:
            raise NoClient("The built-in engine cannot download torrents; choose a torrent client.")
        able = [c for c in pool if c.kind in TORRENT_KINDS]
        if not able:
            raise NoClient(
                "Magnet links and .torrent files need a torrent client "
                "(qBittorrent, Transmission or aria2), and none is enabled."
            )
        able.sort(key=lambda c: (c.kind == "aria2", c.priority, c.name))
        return next((c for c in able if c.name not in down), able[0]).name
    if source == "file" and requested is None:
        preferred = [c for c in pool if c.kind in FILE_KINDS and c.prefer_for_files]
        if preferred:
            return min(preferred, key=lambda c: (c.priority, c.name)).name
    return None


def _describe(source: SourceKind) -> str:
    return {
        "torrent": "torrents",
        "file": "direct files",
        "media": "web pages (only the built-in engine runs yt-dlp)",
    }[source]
