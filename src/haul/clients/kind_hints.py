"""What the pages, the CLI and the API's descriptions say about the client kinds, worded from
the kinds themselves (pure: each function is given the kinds, in the registry's order)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from haul.clients.kinds import ClientKind
from haul.core.routing import SourceKind

_SOURCE_WORDS: dict[SourceKind, str] = {
    "file": "direct files",
    "torrent": "torrents",
    "media": "pages",
}


def either(words: Iterable[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    listed = list(words)
    return listed[0] if len(listed) == 1 else f"{', '.join(listed[:-1])} or {listed[-1]}"


def both(words: Iterable[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    listed = list(words)
    return listed[0] if len(listed) == 1 else f"{', '.join(listed[:-1])} and {listed[-1]}"


def takes_sentence(kinds: Sequence[ClientKind]) -> str:
    """Which kinds take which sources, e.g. "aria2 takes direct files and torrents; qBittorrent
    and Transmission take torrents." """
    groups: dict[frozenset[SourceKind], list[str]] = {}
    for kind in kinds:
        groups.setdefault(kind.takes, []).append(kind.label)
    parts = [
        f"{both(who)} {'takes' if len(who) == 1 else 'take'} "
        + both(_SOURCE_WORDS[source] for source in _SOURCE_WORDS if source in takes)
        for takes, who in groups.items()
    ]
    return "; ".join(parts) + "."


def username_sentence(kinds: Sequence[ClientKind]) -> str:
    """Which kinds log in with a user name, e.g. "qBittorrent and Transmission; aria2 has
    none." """
    with_one = [kind.label for kind in kinds if kind.username]
    without = [kind.label for kind in kinds if not kind.username]
    if not without:
        return f"{both(with_one)}."
    has = "has" if len(without) == 1 else "have"
    return f"{both(with_one)}; {both(without)} {has} none." if with_one else "None needed."


def file_labels(kinds: Sequence[ClientKind]) -> str:
    """The kinds that may be preferred for direct files, e.g. "aria2"."""
    return either(kind.label for kind in kinds if kind.preferable_for_files)


def marker_words(kinds: Sequence[ClientKind]) -> list[tuple[str, str]]:
    """Each kind that marks haul's items, and what it calls the mark: [("qBittorrent",
    "category"), ("Transmission", "label")]."""
    return [(kind.label, kind.marker) for kind in kinds if kind.marker is not None]
