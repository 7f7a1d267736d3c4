"""A big direct file over several connections, against the test origin: the ranges asked
for, resume of the missing ranges only, falling back to one connection when the server does
not keep its promise, the caps, and the speed limits."""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from haul.engine import partfile
from haul.engine.bandwidth import Budgets
from haul.engine.base import EngineJob
from haul.engine.http import HttpEngine
from haul.engine.segmented import REJOINS, Segmenting
from haul.errors import TransferStopped
from tests.support.engine_run import Run
from tests.support.origin import Origin, RequestRecord, parse_range
from tests.support.wait import await_for

SIZE = 8 << 20
DATA = random.Random(11).randbytes(SIZE)
PATH = "/big/film.mkv"
#: Small enough for the tests' files: 2 MiB and more is split, into no less than 256 KiB.
SEGMENTING = Segmenting(connections=4, per_host=4, threshold=2 << 20, min_size=256 << 10)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def origin() -> Iterator[Origin]:
    with Origin() as server:
        server.add_file(PATH, DATA)
        yield server


@pytest.fixture
async def engine() -> AsyncIterator[HttpEngine]:
    engine = HttpEngine(connect_timeout=2.0, read_timeout=5.0, segmenting=SEGMENTING)
    yield engine
    await engine.aclose()


def job_for(origin: Origin, dest: Path, filename: str | None = None, **more: Any) -> EngineJob:
    return EngineJob(1, origin.url(PATH), dest, filename=filename, **more)


def ranges(records: list[RequestRecord]) -> list[tuple[int, int]]:
    """The byte ranges (inclusive) the ranged GETs asked for."""
    out = []
    for record in records:
        if record.method == "GET" and record.range_header:
            wanted = parse_range(record.range_header, SIZE)
            assert isinstance(wanted, tuple)
            out.append(wanted)
    return out


def at_once(records: list[RequestRecord]) -> int:
    """The most of ``records`` that were being answered at the same time (an answer the
    client closed early goes on for a moment at the origin: 0.1 s are not counted)."""
    return 1 + max(
        sum(1 for o in records if o is not r and o.started <= r.started < (o.finished or 0) - 0.1)
        for r in records
    )


async def test_a_big_file_arrives_over_several_connections(
    engine: HttpEngine, origin: Origin, tmp_path: Path
):
    origin.throttle(PATH, 4 << 20)  # per connection: one alone would take two seconds
    run = Run(engine, job_for(origin, tmp_path))
    result = await run()

    assert sha(result.files[0].read_bytes()) == sha(DATA)
    records = origin.requests_for(PATH)
    assert records[0].range_header is None  # the first connection streams from the start
    asked = ranges(records)
    assert len(asked) >= 3  # the other three ask for ranges, each with the first's ETag
    assert all(r.headers["If-Range"].startswith('"') for r in records[1:])
    assert {r.status for r in records[1:]} == {206}
    assert {r.client_port for r in records} != {records[0].client_port}
    # Every byte was sent about once: the ranges split the file instead of repeating it.
    assert origin.bytes_served(PATH) < SIZE + (1 << 20)
    # One progress for the whole file, growing to its size.
    totals = {p.total_bytes for p in run.progress}
    assert totals == {SIZE}
    fetched = [p.downloaded_bytes for p in run.progress]
    assert fetched == sorted(fetched) and fetched[-1] == SIZE
    assert not partfile.ranges_path(tmp_path / "film.mkv.part").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["film.mkv"]


async def test_pause_and_resume_fetch_only_the_missing_ranges(
    engine: HttpEngine, origin: Origin, tmp_path: Path
):
    origin.throttle(PATH, 1 << 20)
    run = Run(engine, job_for(origin, tmp_path))
    task = asyncio.create_task(run())
    await await_for(lambda: run.fetched() > 3 << 20, timeout=10)
    run.stop.set("pause")
    with pytest.raises(TransferStopped):
        await task
    part = tmp_path / "film.mkv.part"
    kept = partfile.read_ranges(part)
    assert kept is not None and kept[0] == SIZE
    on_disk = sum(b - a for a, b in kept[1])
    assert len(kept[1]) > 1  # holes: several ranges were under way
    assert on_disk >= 3 << 20
    # A paused part shows what it holds, not its size with the holes.
    assert part.stat().st_size > on_disk
    assert partfile.held(part, part.stat().st_size) == on_disk
    assert partfile.is_ranges_file(partfile.ranges_path(part).name)
    asked_before = len(origin.requests_for(PATH))

    origin.throttle(PATH, 4 << 20)  # faster, yet paced: what is sent is what is read
    again = Run(engine, job_for(origin, tmp_path, run.progress[0].filename))
    result = await again()
    assert sha(result.files[0].read_bytes()) == sha(DATA)
    # The resume asked for missing bytes only, and the kept ranges are gone.
    for start, end in ranges(origin.requests_for(PATH)[asked_before:]):
        assert not any(a <= start < b for a, b in kept[1]), (start, end, kept[1])
    assert origin.bytes_served(PATH) <= SIZE + (1 << 20)
    assert again.progress[0].downloaded_bytes >= on_disk
    assert not partfile.ranges_path(part).exists()
    assert [p.name for p in tmp_path.iterdir()] == ["film.mkv"]


async def test_a_server_ignoring_ranges_falls_back_to_one_connection(
    engine: HttpEngine, origin: Origin, tmp_path: Path
):
    origin.throttle(PATH, 8 << 20)
    origin.fault(PATH, "ignore_range", times=None)  # promises ranges, answers 200 to them
    run = Run(engine, job_for(origin, tmp_path))
    result = await run()
    assert sha(result.files[0].read_bytes()) == sha(DATA)
    assert any("one connection" in n and "whole file" in n for n in run.notices())
    assert not partfile.ranges_path(tmp_path / "film.mkv.part").exists()


async def test_a_wrong_content_range_falls_back_to_one_connection(
    engine: HttpEngine, origin: Origin, tmp_path: Path
):
    origin.throttle(PATH, 8 << 20)
    origin.fault(PATH, "bad_total", times=None, total=SIZE + 1)  # 206s name another length
    run = Run(engine, job_for(origin, tmp_path))
    result = await run()
    assert sha(result.files[0].read_bytes()) == sha(DATA)
    assert any("one connection" in n for n in run.notices())


async def test_a_file_changed_mid_transfer_is_fetched_again_whole(
    engine: HttpEngine, origin: Origin, tmp_path: Path
):
    newer = random.Random(12).randbytes(SIZE)
    origin.throttle(PATH, 2 << 20)
    origin.fault(PATH, "slow_headers", times=1, delay=0.0)  # the first answer comes at once
    origin.fault(PATH, "slow_headers", times=3, delay=1.0)  # the others' after the change
    run = Run(engine, job_for(origin, tmp_path))
    task = asyncio.create_task(run())
    await await_for(lambda: len(origin.requests_for(PATH)) >= 2, timeout=10)
    origin.add_file(PATH, newer)  # a new ETag: ranges asked with If-Range now get 200
    origin.throttle(PATH, None)
    result = await task
    assert sha(result.files[0].read_bytes()) == sha(newer)
    assert any("changed" in n for n in run.notices())


async def test_a_site_rule_of_one_connection_keeps_to_one(
    engine: HttpEngine, origin: Origin, tmp_path: Path
):
    run = Run(engine, job_for(origin, tmp_path, connections=1))
    result = await run()
    assert sha(result.files[0].read_bytes()) == sha(DATA)
    assert len(origin.requests_for(PATH)) == 1


async def test_a_file_below_the_threshold_uses_one_connection(origin: Origin, tmp_path: Path):
    engine = HttpEngine(segmenting=Segmenting(threshold=16 << 20))
    try:
        result = await Run(engine, job_for(origin, tmp_path))()
    finally:
        await engine.aclose()
    assert sha(result.files[0].read_bytes()) == sha(DATA)
    assert len(origin.requests_for(PATH)) == 1


async def test_the_speed_limit_holds_over_all_connections(
    engine: HttpEngine, origin: Origin, tmp_path: Path
):
    rate = 2 << 20
    throttle = Budgets().throttle(1, "someone", rate=rate)
    run = Run(engine, job_for(origin, tmp_path, throttle=throttle))
    began = time.monotonic()
    try:
        result = await run()
    finally:
        throttle.close()
    elapsed = time.monotonic() - began
    assert sha(result.files[0].read_bytes()) == sha(DATA)
    assert len(ranges(origin.requests_for(PATH))) >= 3  # segmented, yet held to the limit
    # Unlimited, the origin serves the file in milliseconds. Each connection may take one
    # piece (up to 1 MiB) before the limit makes it wait: the rest keeps to the rate.
    assert elapsed >= (SIZE - (4 << 20)) / rate
    speeds = [p.speed for p in run.progress if p.speed]
    assert speeds and max(speeds[len(speeds) // 2 :]) < rate * 1.5


async def test_refused_extra_connections_leave_their_ranges_to_the_others(
    origin: Origin, tmp_path: Path
):
    origin.throttle(PATH, 2 << 20)
    origin.one_at_a_time(PATH)  # a panel's "one connection only"
    engine = HttpEngine(segmenting=replace(SEGMENTING, rejoin_after=0.1))
    try:
        result = await Run(engine, job_for(origin, tmp_path))()
    finally:
        await engine.aclose()
    assert sha(result.files[0].read_bytes()) == sha(DATA)
    statuses = [r.status for r in origin.requests_for(PATH)]
    assert statuses[:4] == [200, 503, 503, 503]
    # each extra connection tried again twice after resting, then stopped for good (the one
    # left may meet the panel still closing the answer it let go, and tries again)
    assert 3 * (1 + REJOINS) <= statuses.count(503) <= 3 * (1 + REJOINS) + 2
    assert set(statuses) == {200, 206, 503}  # what they gave back, fetched by the one left
    assert origin.bytes_served(PATH) < SIZE + (1 << 20)


async def test_a_connection_refused_for_a_moment_comes_back_after_resting(
    origin: Origin, tmp_path: Path
):
    origin.throttle(PATH, 1 << 20)
    origin.fault(PATH, "slow_headers", times=1, delay=0.01)  # the first request is answered
    origin.fault(PATH, "status", times=3, status=503)  # busy for a moment
    engine = HttpEngine(segmenting=replace(SEGMENTING, rejoin_after=0.5))
    try:
        result = await Run(engine, job_for(origin, tmp_path))()
    finally:
        await engine.aclose()
    assert sha(result.files[0].read_bytes()) == sha(DATA)
    await await_for(  # the origin notices the connections the engine closed
        lambda: all(r.finished for r in origin.requests_for(PATH)), 5, what="answers to end"
    )
    records = origin.requests_for(PATH)
    assert [r.status for r in records[:4]] == [200, 503, 503, 503]
    later = [r for r in records if r.status == 206]
    assert at_once([records[0], *later]) == 4  # all four again after their rest


async def test_the_per_host_cap_holds_across_downloads(origin: Origin, tmp_path: Path):
    origin.add_file("/big/other.mkv", DATA)
    for path in (PATH, "/big/other.mkv"):
        origin.throttle(path, 4 << 20)
    capped = Segmenting(connections=4, per_host=3, threshold=2 << 20, min_size=256 << 10)
    engine = HttpEngine(segmenting=capped)
    try:
        first = Run(engine, job_for(origin, tmp_path / "a"))
        task = asyncio.create_task(first())
        await await_for(lambda: first.fetched() > 0, timeout=10)
        other = EngineJob(2, origin.url("/big/other.mkv"), tmp_path / "b")
        result = await Run(engine, other)()
        await task
    finally:
        await engine.aclose()
    assert sha(result.files[0].read_bytes()) == sha(DATA)
    assert at_once(origin.requests_for(PATH)) == 3  # its first connection and two more
    # The host's three were taken: the second file came over its first connection alone.
    assert len(origin.requests_for("/big/other.mkv")) == 1
