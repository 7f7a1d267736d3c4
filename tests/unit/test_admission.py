from haul.core.admission import (
    WAITING_FOR_SLOT,
    Active,
    Candidate,
    Limits,
    choose,
    decide,
    next_rank,
    waiting_reason,
)


def test_global_limit_refuses_with_the_reason() -> None:
    verdict = decide(Limits(global_active=2), active_total=2, active_owner=0, owner_limit=None)
    assert not verdict.admitted
    assert verdict.reason is not None and "limit" in verdict.reason


def test_owner_limit_and_override() -> None:
    limits = Limits(global_active=10, per_owner=1)
    refused = decide(limits, active_total=1, active_owner=1, owner_limit=None)
    assert not refused.admitted
    assert refused.reason is not None and "your limit is 1" in refused.reason
    assert decide(limits, active_total=1, active_owner=1, owner_limit=3).admitted
    assert decide(limits, active_total=0, active_owner=0, owner_limit=None).admitted


def test_ranks_interleave_owners_round_robin() -> None:
    """One owner with many waiting never starves another: ranks interleave the queues."""
    queue: list[tuple[int, str]] = []  # (rank, owner) in submit order

    def submit(owner: str) -> None:
        mine = [r for r, o in queue if o == owner]
        lowest = min((r for r, _ in queue), default=None)
        queue.append((next_rank(max(mine) if mine else None, lowest), owner))

    for _ in range(1000):
        submit("bulk")
    submit("single")
    order = [owner for _, owner in sorted(queue, key=lambda x: x[0])]
    assert order.index("single") <= 1


def test_newcomer_joins_the_current_round() -> None:
    # Ranks 0..4 served already; lowest waiting is 5: a new owner starts at 5, not 0 or 1000.
    assert next_rank(None, 5) == 5
    assert next_rank(9, 5) == 10
    assert next_rank(None, None) == 0


def _queue(*owners: str, client: str | None = None) -> list[Candidate]:
    """One candidate per owner given, ranked in that order (ids from 1)."""
    return [
        Candidate(i, owner, client, rank) for rank, (i, owner) in enumerate(enumerate(owners, 1))
    ]


def test_choose_fills_the_free_slots_in_rank_order() -> None:
    waiting = [Candidate(3, "a", None, 1), Candidate(1, "b", None, 2), Candidate(2, "c", None, 1)]
    assert choose(waiting, Active(total=1), Limits(global_active=3)) == [2, 3]


def test_choose_breaks_ties_by_id() -> None:
    waiting = [Candidate(9, "a", None, 0), Candidate(4, "b", None, 0)]
    assert choose(waiting, Active(), Limits(global_active=1)) == [4]


def test_choose_admits_nothing_when_full() -> None:
    assert choose(_queue("a", "b"), Active(total=2), Limits(global_active=2)) == []
    assert choose(_queue("a", "b"), Active(total=5), Limits(global_active=2)) == []
    assert choose([], Active(), Limits(global_active=2)) == []


def test_choose_skips_an_owner_at_their_cap_for_the_next_in_line() -> None:
    limits = Limits(global_active=10, per_owner=2)
    active = Active(total=1, per_owner={"a": 1})
    assert choose(_queue("a", "a", "a", "b", "b", "b"), active, limits) == [1, 4, 5]


def test_choose_honours_an_owner_own_limit() -> None:
    limits = Limits(global_active=10, per_owner=1)
    waiting = _queue("a", "a", "a", "b", "b")
    assert choose(waiting, Active(), limits, {"a": 3}) == [1, 2, 3, 4]
    assert choose(waiting, Active(), limits, {"b": 0}) == [1]


def test_choose_caps_each_client() -> None:
    limits = Limits(global_active=10, per_client={"qb": 1})
    waiting = [
        Candidate(1, "a", "qb", 0),
        Candidate(2, "a", "qb", 1),
        Candidate(3, "a", "aria2", 2),
        Candidate(4, "a", None, 3),
    ]
    assert choose(waiting, Active(), limits) == [1, 3, 4]
    assert choose(waiting, Active(total=1, per_client={"qb": 1}), limits) == [3, 4]


def test_choose_is_fair_between_owners_by_rank() -> None:
    """Ranks interleave a bulk owner with a newcomer: each gets every other slot."""
    bulk = [Candidate(i, "bulk", None, i) for i in range(1, 101)]
    newcomer = [Candidate(1000 + i, "new", None, i + 1) for i in range(3)]
    chosen = choose(bulk + newcomer, Active(), Limits(global_active=6))
    assert chosen == [1, 1000, 2, 1001, 3, 1002]


def test_active_counts_what_it_takes() -> None:
    active = Active(total=1, per_owner={"a": 1}).taking(
        [Candidate(1, "a", "qb", 0), Candidate(2, "b", None, 0)]
    )
    assert active == Active(total=3, per_owner={"a": 2, "b": 1}, per_client={"qb": 1})


def test_choose_in_batches_matches_one_pass() -> None:
    """Choosing batch by batch, counting what each took, admits what one pass over all would."""
    limits = Limits(global_active=7, per_owner=2, per_client={"qb": 2})
    owners = ["a", "b", "a", "a", "c", "b", "b", "c", "d", "a", "d", "e"]
    waiting = [
        Candidate(i, owner, "qb" if i % 3 == 0 else None, i // 2)
        for i, owner in enumerate(owners, 1)
    ]
    whole = choose(waiting, Active(), limits)
    active, batched = Active(), []
    for start in range(0, len(waiting), 5):
        chunk = waiting[start : start + 5]
        chosen = choose(chunk, active, limits)
        active = active.taking(c for c in chunk if c.id in chosen)
        batched += chosen
    assert batched == whole


def test_waiting_reason_names_what_holds_a_download_back() -> None:
    limits = Limits(
        global_active=10, per_owner=2, per_client={"qbit": 3}, per_site={"example.com": 1}
    )
    site = Candidate(1, "a", None, 0, "www.example.com")
    held = Active(total=1, per_site={"example.com": 1})
    assert waiting_reason(site, held, limits) == (
        "Waiting: at most 1 download at once from example.com (a site rule); "
        "it starts when one of those ends."
    )
    # another site, or the rule's transfer ended: nothing holds it but its turn
    assert waiting_reason(Candidate(2, "a", None, 0, "other.org"), held, limits) == (
        WAITING_FOR_SLOT
    )
    assert waiting_reason(site, Active(total=1), limits) == WAITING_FOR_SLOT
    owner = Active(total=2, per_owner={"a": 2})
    assert "at most 2 downloads at once for each person" in waiting_reason(site, owner, limits)
    client = Active(total=3, per_client={"qbit": 3})
    on_qbit = Candidate(3, "b", "qbit", 0, None)
    assert "at most 3 downloads at once on qbit (its slot limit)" in waiting_reason(
        on_qbit, client, limits
    )
    # every slot taken says so first, whatever else holds it back
    full = Active(total=10, per_site={"example.com": 1})
    assert waiting_reason(site, full, limits) == WAITING_FOR_SLOT
