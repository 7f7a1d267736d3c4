"""What a kind of download client is: a frozen descriptor each adapter folder declares in its
``kind.py`` (aria2, qBittorrent, Transmission), listed by :mod:`haul.clients.registry`.

A kind says what a person calls it, which sources it takes, where it usually listens, how it
ranks when several clients could take a source, which optional capabilities its adapter has,
and how to build one. The builder imports the adapter only when called, so declaring a kind
costs nothing. The built-in engine is not a kind: it is always there, cannot be configured,
and is the only one that fetches pages (yt-dlp).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from haul.clients.base import (
    Closable,
    DownloadClient,
    JudgesFailures,
    LimitsItemSpeed,
    LimitsSpeed,
    ListsFiles,
)
from haul.core.client_specs import ClientSpec
from haul.core.routing import SourceKind

#: An optional capability an adapter may have, named as a kind declares it.
Capability = Literal[
    "lists_files", "closable", "judges_failures", "limits_speed", "limits_item_speed"
]
#: The protocol (of :mod:`haul.clients.base`) behind each capability.
PROTOCOLS: dict[Capability, type] = {
    "lists_files": ListsFiles,
    "closable": Closable,
    "judges_failures": JudgesFailures,
    "limits_speed": LimitsSpeed,
    "limits_item_speed": LimitsItemSpeed,
}


@dataclass(frozen=True, slots=True)
class ClientKind:
    """A kind of download client haul can drive."""

    name: str  # stored in a client's settings and sent by the API
    label: str  # as a person reads it
    example_url: str  # where it listens by default, shown when a URL is wrong
    takes: frozenset[SourceKind]  # which sources it downloads
    build: Callable[[ClientSpec], DownloadClient]  # imports the adapter when called
    capabilities: frozenset[Capability] = frozenset()
    #: Its place among the clients that take the same source, lower first (before priority).
    rank: int = 0
    #: Whether a client of this kind may be preferred for direct files over the built-in engine.
    preferable_for_files: bool = False
    #: The schemes of the address it answers at.
    url_schemes: tuple[str, ...] = ("http", "https")
    #: Whether it logs in with a user name (else only a secret).
    username: bool = True
    #: The option of the client that sets the secret haul gives it, when it is not a password.
    auth_option: str | None = None
    #: What the client calls the mark haul puts on its items ("category", "label"), if any.
    marker: str | None = None
