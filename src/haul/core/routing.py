"""Which client takes a download (pure).

- a magnet or a .torrent goes to the enabled client that takes torrents with the best rank
  (the kind's place: a dedicated torrent client before one that also fetches files), then the
  best priority (lowest number);
- a direct file goes to an enabled client that takes files and is preferred for them, else to
  the built-in engine; a page (yt-dlp) always goes to the built-in engine;
- a client the user names is used when it can take that kind of source, and refused with a
  sentence when it cannot;
- a client that cannot be reached (``down``) is passed over for the next one that can take the
  source, unless the user named it; when every able client is down the preferred one is kept
  (the download waits for it).

Routing knows no client kind by name: each configured client arrives as a :class:`Candidate`
carrying what its kind takes, and the :class:`Roster` names the kinds that take torrents.
``None`` stands for the built-in engine.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from haul.errors import NoClient, UnknownClient

BUILTIN = "builtin"
#: What a source turned out to be: a torrent (magnet or .torrent), a direct file, a page.
SourceKind = Literal["torrent", "file", "media"]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A configured client as routing sees it."""

    name: str
    label: str  # its kind, as a person reads it
    takes: frozenset[SourceKind]
    priority: int = 1
    enabled: bool = True
    prefer_for_files: bool = False
    rank: int = 0  # its kind's place among the clients taking the same source, lower first


@dataclass(frozen=True, slots=True)
class Roster:
    """The configured clients, and the labels of every kind that takes torrents (in order of
    preference) for the sentence said when none is enabled."""

    candidates: tuple[Candidate, ...]
    torrent_labels: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[Candidate]:
        return iter(self.candidates)


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
    ``candidates``: the configured clients, best given as a :class:`Roster`; ``down``: the
    clients that cannot be reached now (see the module docstring)."""
    pool = [c for c in candidates if c.enabled]
    if requested is not None and requested != BUILTIN:
        chosen = next((c for c in pool if c.name == requested), None)
        if chosen is None:
            raise NoClient(f"The download client {requested!r} is not configured or disabled.")
        if source not in chosen.takes:
            raise NoClient(f"{requested} ({chosen.label}) cannot download {_describe(source)}.")
        return chosen.name
    if source == "torrent":
        if requested == BUILTIN:
            raise NoClient("The built-in engine cannot download torrents; choose a torrent client.")
        able = [c for c in pool if "torrent" in c.takes]
        if not able:
            labels = candidates.torrent_labels if isinstance(candidates, Roster) else ()
            which = f" ({_either(labels)})" if labels else ""
            raise NoClient(
                f"Magnet links and .torrent files need a torrent client{which}, "
                "and none is enabled."
            )
        able.sort(key=lambda c: (c.rank, c.priority, c.name))
        return next((c for c in able if c.name not in down), able[0]).name
    if source == "file" and requested is None:
        preferred = [c for c in pool if "file" in c.takes and c.prefer_for_files]
        if preferred:
            return min(preferred, key=lambda c: (c.priority, c.name)).name
    return None


def _either(words: tuple[str, ...]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _describe(source: SourceKind) -> str:
    return {
        "torrent": "torrents",
        "file": "direct files",
        "media": "web pages (only the built-in engine runs yt-dlp)",
    }[source]
