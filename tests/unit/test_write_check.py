"""/readyz's database check: one write for every caller of the same second."""

from __future__ import annotations

import asyncio
import threading

import pytest

from haul.web.api import system


async def test_callers_of_the_same_second_share_one_write(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    writes: list[str] = []
    release = threading.Event()

    def write(url: str) -> str:
        writes.append(url)
        release.wait(5)
        return "0009"

    monkeypatch.setattr(system, "writable_revision", write)
    check = system.WriteCheck("sqlite:///x.db")
    callers = [asyncio.ensure_future(check.revision()) for _ in range(50)]
    await asyncio.sleep(0.05)
    release.set()
    assert await asyncio.gather(*callers) == ["0009"] * 50
    assert await check.revision() == "0009"
    assert writes == ["sqlite:///x.db"]

    monkeypatch.setattr(system, "FRESH_FOR", 0.0)
    assert await check.revision() == "0009"
    assert len(writes) == 2


async def test_a_refused_write_is_said_to_every_caller_then_checked_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers = [OSError("read-only file system"), "0009"]

    def write(url: str) -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(system, "writable_revision", write)
    monkeypatch.setattr(system, "FRESH_FOR", 0.0)
    check = system.WriteCheck("sqlite:///x.db")
    with pytest.raises(OSError, match="read-only"):
        await check.revision()
    assert await check.revision() == "0009"
