"""Admission under limits, and the fair queue order (pure functions over plain numbers).

Fairness comes from the queue rank: an owner's n-th waiting download gets rank
``max(their last rank + 1, the lowest rank still waiting)``, and the queue is served in
(rank, id) order. One owner with 10,000 waiting thus takes every other slot at most; a newcomer
joins the current round instead of waiting behind all of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Limits:
    global_active: int
    per_owner: int | None = None
    #: Slot caps of external clients (name -> at most this many of haul's downloads at once).
    per_client: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Decision:
    admitted: bool
    reason: str | None = None


def decide(
    limits: Limits, active_total: int, active_owner: int, owner_limit: int | None
) -> Decision:
    """May one more download start now, given the active counts?"""
    if active_total >= limits.global_active:
        return Decision(
            False,
            f"haul is already running {active_total} downloads, its limit; "
            "try again when one has finished.",
        )
    limit = owner_limit if owner_limit is not None else limits.per_owner
    if limit is not None and active_owner >= limit:
        noun = "download" if limit == 1 else "downloads"
        return Decision(
            False,
            f"You already have {active_owner} active {noun} and your limit is {limit}; "
            "try again when one has finished.",
        )
    return Decision(True)


def next_rank(owner_last_rank: int | None, lowest_waiting_rank: int | None) -> int:
    """The queue rank for an owner's next waiting download."""
    mine = owner_last_rank + 1 if owner_last_rank is not None else 0
    floor = lowest_waiting_rank if lowest_waiting_rank is not None else 0
    return max(mine, floor)
