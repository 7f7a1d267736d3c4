from haul.core.admission import Limits, decide, next_rank


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
