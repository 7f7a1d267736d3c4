"""The kinds of events a notification target can subscribe to (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal

from haul.errors import UnknownEventKind

EventKind = Literal["completed", "failed", "imported", "subscription.new"]

#: What a target may subscribe to, in the order people read them. ``subscription.new``: a
#: subscription's check found something new and queued its download.
EVENT_KINDS: Final[tuple[EventKind, ...]] = ("completed", "failed", "imported", "subscription.new")
#: What a target made without naming its events is sent.
DEFAULT_KINDS: Final[tuple[EventKind, ...]] = ("completed", "failed", "imported")

#: The kind sent by "test this target"; nobody subscribes to it, every target receives it.
TEST_EVENT: Final = "test"


def check_kinds(kinds: Iterable[str]) -> list[str]:
    """The subscribed kinds in canonical order, or :class:`UnknownEventKind` with a sentence."""
    wanted = [kind.strip().lower() for kind in kinds if kind.strip()]
    unknown = sorted({kind for kind in wanted if kind not in EVENT_KINDS})
    if unknown:
        listed = ", ".join(repr(kind) for kind in unknown)
        raise UnknownEventKind(
            f"haul sends no {listed} event{'s' if len(unknown) > 1 else ''}; "
            f"choose from {', '.join(EVENT_KINDS)}."
        )
    if not wanted:
        raise UnknownEventKind(f"Choose at least one event to send: {', '.join(EVENT_KINDS)}.")
    return [kind for kind in EVENT_KINDS if kind in wanted]
