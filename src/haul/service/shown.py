"""What someone who is not an administrator reads where a download client failed.

A client's own words name internal addresses, ports, software and versions
(``aria2 at http://10.0.0.5:6800/jsonrpc: connection refused``): an administrator needs them
to fix it, a user or a visitor cannot use them and should not learn the network. They read one
neutral sentence instead, in the list's ``clients``, a download's ``error`` and history and
the pages' banner; client names stay (the add form offers them). Live events carry the neutral
sentence too: one event goes to the owner and the administrators alike.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import Any

from haul.core.status import Status
from haul.core.tracking import Tracked
from haul.errors import ClientError
from haul.service.values import ClientState, Owner

CLIENT_TROUBLE = (
    "A download client is unreachable or failed; the administrator can see why. "
    "Nothing is lost: its downloads show again once it answers."
)


def _codes(kind: type[ClientError]) -> Iterator[str]:
    yield kind.code
    for sub in kind.__subclasses__():
        yield from _codes(sub)


#: The error codes a download client's failure is recorded with.
CLIENT_CODES = frozenset(_codes(ClientError))


def tracked_for(tracked: Tracked, owner: Owner | None) -> Tracked:
    """``tracked`` as ``owner`` may read it (``None``: anyone, as in a live event)."""
    if (owner is not None and owner.is_admin) or tracked.error is None:
        return tracked
    if tracked.status is Status.UNKNOWN or tracked.error_code in CLIENT_CODES:
        return dataclasses.replace(tracked, error=CLIENT_TROUBLE)
    return tracked


def all_for(tracked: Sequence[Tracked], owner: Owner | None) -> list[Tracked]:
    return [tracked_for(t, owner) for t in tracked]


def events_for(events: list[Any], owner: Owner) -> list[Any]:
    """A download's history (detached rows) as ``owner`` may read it: the message of an event
    a client's failure caused is the neutral sentence."""
    if not owner.is_admin:
        for event in events:
            if (event.data or {}).get("code") in CLIENT_CODES:
                event.message = CLIENT_TROUBLE
    return events


def states_for(states: Sequence[ClientState], owner: Owner) -> list[ClientState]:
    """The clients' health as ``owner`` may read it."""
    if owner.is_admin:
        return list(states)
    return [s if s.ok else ClientState(s.name, ok=False, error=CLIENT_TROUBLE) for s in states]
