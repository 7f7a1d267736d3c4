"""Admission under limits, and the fair queue order (pure functions over plain numbers).

Fairness comes from the queue rank: an owner's n-th waiting download gets rank
``max(their last rank + 1, the lowest rank still waiting)``, and the queue is served in
(rank, id) order. One owner with 10,000 waiting thus takes every other slot at most; a newcomer
joins the current round instead of waiting behind all of it. :func:`choose` picks which waiting
downloads take the free slots; :func:`decide` says whether one submitted download may start.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from haul.core.sites import rule_domain


@dataclass(frozen=True, slots=True)
class Limits:
    global_active: int
    per_owner: int | None = None
    #: Slot caps of external clients (name -> at most this many of haul's downloads at once).
    per_client: Mapping[str, int] = field(default_factory=dict)
    #: Site rules (domain -> at most this many transfers from it and its subdomains at once).
    per_site: Mapping[str, int] = field(default_factory=dict)

    def site_rule(self, site: str | None) -> str | None:
        """The domain of the site rule that holds for ``site`` (a host), or None."""
        return rule_domain(site, self.per_site) if self.per_site else None


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


@dataclass(frozen=True, slots=True)
class Candidate:
    """A queued download that may be admitted."""

    id: int
    owner: str
    #: The client it was routed to (None: not routed yet, no client cap applies).
    client: str | None
    rank: int
    #: The host of its source (None: none, such as a magnet link).
    site: str | None = None


@dataclass(frozen=True, slots=True)
class Active:
    """The downloads holding a slot: in all, per owner, per client and per site rule (keyed
    by the rule's domain; a count left out is 0)."""

    total: int = 0
    per_owner: Mapping[str, int] = field(default_factory=dict)
    per_client: Mapping[str, int] = field(default_factory=dict)
    per_site: Mapping[str, int] = field(default_factory=dict)

    def taking(self, admitted: Iterable[Candidate], limits: Limits | None = None) -> Active:
        """The counts once ``admitted`` hold their slots too (per site rule: those of
        ``limits``)."""
        total = self.total
        per_owner = dict(self.per_owner)
        per_client = dict(self.per_client)
        per_site = dict(self.per_site)
        for one in admitted:
            total += 1
            per_owner[one.owner] = per_owner.get(one.owner, 0) + 1
            if one.client:
                per_client[one.client] = per_client.get(one.client, 0) + 1
            domain = limits.site_rule(one.site) if limits is not None else None
            if domain is not None:
                per_site[domain] = per_site.get(domain, 0) + 1
        return Active(total, per_owner, per_client, per_site)


def choose(
    candidates: Iterable[Candidate],
    active: Active,
    limits: Limits,
    owner_limits: Mapping[str, int] | None = None,
) -> list[int]:
    """The ids of the candidates to admit, in fair (rank, id) order: as many as there are free
    slots, skipping a candidate whose owner, whose client or whose site is at its cap (the
    next in line may belong to someone else, go to another client or to another site).
    ``owner_limits``: owners whose own limit replaces :attr:`Limits.per_owner`."""
    free = limits.global_active - active.total
    if free <= 0:
        return []
    overrides = owner_limits or {}
    per_owner = dict(active.per_owner)
    per_client = dict(active.per_client)
    per_site = dict(active.per_site)
    chosen: list[int] = []
    for one in sorted(candidates, key=lambda c: (c.rank, c.id)):
        owner_cap = overrides.get(one.owner, limits.per_owner)
        if owner_cap is not None and per_owner.get(one.owner, 0) >= owner_cap:
            continue
        client_cap = limits.per_client.get(one.client) if one.client else None
        if one.client and client_cap is not None and per_client.get(one.client, 0) >= client_cap:
            continue
        domain = limits.site_rule(one.site)
        if domain is not None and per_site.get(domain, 0) >= limits.per_site[domain]:
            continue
        chosen.append(one.id)
        per_owner[one.owner] = per_owner.get(one.owner, 0) + 1
        if one.client:
            per_client[one.client] = per_client.get(one.client, 0) + 1
        if domain is not None:
            per_site[domain] = per_site.get(domain, 0) + 1
        free -= 1
        if free == 0:
            break
    return chosen


#: What a queued download says when it waits for a slot and nothing else holds it back.
WAITING_FOR_SLOT = "Waiting for a free download slot; it starts as soon as one is free."


def _downloads(n: int) -> str:
    return f"{n} download" if n == 1 else f"{n} downloads"


def waiting_reason(one: Candidate, active: Active, limits: Limits) -> str:
    """Why the queued download ``one`` has not started, given what holds a slot now: every
    slot is taken, or its owner's, its client's or its site's cap is reached (checked in the
    order :func:`choose` checks them), else it waits for its turn."""
    if active.total >= limits.global_active:
        return WAITING_FOR_SLOT
    if limits.per_owner is not None and active.per_owner.get(one.owner, 0) >= limits.per_owner:
        return (
            f"Waiting: at most {_downloads(limits.per_owner)} at once for each person; "
            "it starts when one of its owner's ends."
        )
    client_cap = limits.per_client.get(one.client) if one.client else None
    if one.client and client_cap is not None and active.per_client.get(one.client, 0) >= client_cap:
        return (
            f"Waiting: at most {_downloads(client_cap)} at once on {one.client} (its slot "
            "limit); it starts when one of those ends."
        )
    domain = limits.site_rule(one.site)
    if domain is not None and active.per_site.get(domain, 0) >= limits.per_site[domain]:
        return (
            f"Waiting: at most {_downloads(limits.per_site[domain])} at once from {domain} "
            "(a site rule); it starts when one of those ends."
        )
    return WAITING_FOR_SLOT
