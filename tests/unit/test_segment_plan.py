"""The plan of a segmented download: splitting, work stealing, what is kept for a resume."""

from __future__ import annotations

from haul.core.segments import ALIGN, Plan, gaps, merge, prefix

MIB = 1 << 20


def test_connections_starting_together_split_the_file_evenly():
    plan = Plan(64 * MIB, min_size=MIB)
    first = plan.first()
    assert first is not None and (first.start, first.end) == (0, 64 * MIB)
    others = [plan.take() for _ in range(3)]
    shares = sorted((s.start, s.end) for s in [first, *others] if s is not None)
    assert shares == [(i * 16 * MIB, (i + 1) * 16 * MIB) for i in range(4)]


def test_a_connection_that_finishes_early_takes_the_back_half_of_the_largest():
    plan = Plan(8 * MIB, min_size=MIB)
    a = plan.first()
    b = plan.take()
    assert a is not None and b is not None
    plan.advance(b, b.end - b.start)
    plan.finish(b)
    plan.advance(a, MIB)  # a has 3 MiB left
    c = plan.take()
    assert c is not None
    assert c.start == a.end == MIB + (3 * MIB) // 2
    assert c.end == 4 * MIB and c.start % ALIGN == 0


def test_no_segment_is_made_smaller_than_the_minimum():
    plan = Plan(3 * MIB, min_size=2 * MIB)
    assert plan.first() is not None
    assert plan.take() is None


def test_bytes_past_a_moved_end_do_not_count():
    plan = Plan(4 * MIB, min_size=MIB)
    a = plan.first()
    assert a is not None
    plan.take()  # steals the back half: a now ends at 2 MiB
    assert plan.advance(a, 3 * MIB) == 2 * MIB
    assert a.left == 0


def test_a_failed_segment_keeps_what_is_on_disk_and_gives_back_the_rest():
    plan = Plan(4 * MIB, min_size=MIB)
    a = plan.first()
    assert a is not None
    plan.advance(a, 3 * MIB)
    plan.finish(a, written=MIB)  # only 1 MiB reached the disk
    assert plan.done_spans() == [(0, MIB)]
    assert plan.missing == [(MIB, 4 * MIB)]
    b = plan.take()
    assert b is not None and (b.start, b.end) == (MIB, 4 * MIB)


def test_a_resume_starts_from_what_is_kept():
    plan = Plan(10 * MIB, [(0, 2 * MIB), (5 * MIB, 6 * MIB)], min_size=MIB)
    assert plan.missing == [(2 * MIB, 5 * MIB), (6 * MIB, 10 * MIB)]
    first = plan.first()
    assert first is not None and first.start == 2 * MIB
    assert plan.fetched() == 3 * MIB


def test_done_spans_hold_only_what_the_writer_confirmed():
    plan = Plan(4 * MIB, min_size=MIB)
    a = plan.first()
    b = plan.take()
    assert a is not None and b is not None
    plan.advance(a, MIB)
    plan.advance(b, MIB)
    assert plan.done_spans({a: MIB // 2, b: 0}) == [(0, MIB // 2)]


def test_complete_only_when_every_byte_is_done():
    plan = Plan(2 * MIB, min_size=MIB)
    a = plan.first()
    assert a is not None and not plan.complete
    plan.advance(a, 2 * MIB)
    plan.finish(a)
    assert plan.complete


def test_span_helpers():
    assert merge([(5, 9), (0, 3), (3, 4), (8, 12), (20, 20)]) == [(0, 4), (5, 12)]
    assert gaps([(0, 4), (5, 12)], 15) == [(4, 5), (12, 15)]
    assert prefix([(0, 4), (5, 12)]) == 4
    assert prefix([(1, 4)]) == 0


def test_when_a_file_is_worth_several_connections():
    from pathlib import Path

    from haul.engine.answer import Answer
    from haul.engine.base import EngineJob
    from haul.engine.segmented import HostSlots, Segmenting

    rules = Segmenting(connections=4, threshold=16 * MIB)
    job = EngineJob(1, "http://x.org/f", Path("."))
    big = Answer(0, 64 * MIB, '"e"', None, '"e"', False)
    ranges = {"accept-ranges": "bytes"}
    assert rules.wanted(job, big, ranges, 200)
    assert rules.wanted(job, big, {}, 206)  # a 206 shows ranges work
    assert not rules.wanted(job, big, {}, 200)  # no promise of ranges
    assert not rules.wanted(job, Answer(0, 8 * MIB, None, None, None, False), ranges, 200)
    assert not rules.wanted(job, Answer(0, None, None, None, None, False), ranges, 200)
    assert not rules.wanted(job, Answer(0, 64 * MIB, None, None, None, True), ranges, 200)
    one = EngineJob(1, "http://x.org/f", Path("."), connections=1)
    assert not rules.wanted(one, big, ranges, 200)  # a site rule of one connection
    assert rules.connections_for(EngineJob(1, "u", Path("."), connections=8)) == 4

    slots = HostSlots(2)
    assert slots.acquire("h") and slots.acquire("h") and not slots.acquire("h")
    assert slots.acquire("h", always=True) and slots.used("h") == 3
    for _ in range(3):
        slots.release("h")
    assert slots.used("h") == 0
