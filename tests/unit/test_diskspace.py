"""Claims of room on the disk (the free space is given) and what a resumed answer must match."""

from __future__ import annotations

from pathlib import Path

import pytest

from haul.engine.answer import Answer, PartSource, changed_since
from haul.engine.diskspace import DiskSpace, waiting_message
from haul.errors import DiskFull

A, B = Path("/w/1"), Path("/w/2")


def test_a_claim_counts_against_the_others_until_released() -> None:
    space = DiskSpace(free=lambda _: 100)
    space.claim(A, 70)
    with pytest.raises(DiskFull) as refused:
        space.claim(B, 40)
    assert (refused.value.free, refused.value.needed) == (30, 40)
    assert str(refused.value) == "Waiting for disk space: 30 B free, 40 B needed."
    space.wrote(A, 50)  # 20 of its 70 landed: the disk shows them, the claim shrinks
    space.claim(B, 40)
    space.release(A)
    space.release(B)
    space.claim(A, 100)


def test_the_same_transfer_claiming_again_replaces_its_claim() -> None:
    space = DiskSpace(free=lambda _: 100)
    space.claim(A, 90)
    space.claim(A, 95)  # a resume of the same transfer


def test_waiting_message_says_what_is_known() -> None:
    assert waiting_message(120_000_000, 300_000_000) == (
        "Waiting for disk space: 120.0 MB free, 300.0 MB needed."
    )
    assert waiting_message(0, None) == "Waiting for disk space: 0 B free."


def answer(etag: str | None, modified: str | None, total: int | None) -> Answer:
    return Answer(10, total, etag, None, etag, False, modified)


@pytest.mark.parametrize(
    ("source", "offered", "why"),
    [
        (PartSource('"a"', "Mon", 100), answer('"a"', "Mon", 100), None),
        (PartSource('"a"', "Mon", 100), answer('"b"', "Mon", 100), "its ETag changed"),
        (PartSource("Mon", "Mon", 100), answer(None, "Tue", 100), "its Last-Modified date changed"),
        (
            PartSource('"a"', None, 100),
            answer('"a"', None, 120),
            "its length changed from 100 to 120 bytes",
        ),
        # What a side does not say is not held against the answer.
        (PartSource(None, None, None), answer('"b"', "Tue", 120), None),
        (PartSource('"a"', "Mon", 100), answer(None, None, None), None),
    ],
)
def test_changed_since(source: PartSource, offered: Answer, why: str | None) -> None:
    assert changed_since(source, offered) == why
