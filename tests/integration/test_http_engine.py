"""The direct-HTTP engine against the test origin: naming, resume, stopping, faults."""

from __future__ import annotations

import asyncio
import hashlib
import random
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from haul.engine.base import EngineJob, StopSignal
from haul.engine.http import HttpEngine, part_path
from haul.errors import (
    LengthMismatch,
    PermanentTransferError,
    TransferStopped,
    TransientTransferError,
)
from tests.support.engine_run import Run
from tests.support.origin import Origin
from tests.support.wait import await_for

DATA = random.Random(7).randbytes(1 << 20)  # 1 MiB


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def origin() -> Iterator[Origin]:
    with Origin() as server:
        server.add_file("/files/data.bin", DATA)
        yield server


@pytest.fixture
async def engine() -> AsyncIterator[HttpEngine]:
    engine = HttpEngine(connect_timeout=2.0, read_timeout=5.0)
    yield engine
    await engine.aclose()


def job_for(origin: Origin, path: str, dest: Path, filename: str | None = None) -> EngineJob:
    return EngineJob(download_id=1, url=origin.url(path), dest_dir=dest, filename=filename)


def part_size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


async def test_downloads_the_whole_file(engine: HttpEngine, origin: Origin, tmp_path: Path):
    run = Run(engine, job_for(origin, "/files/data.bin", tmp_path))
    result = await run()
    final = tmp_path / "data.bin"
    assert result.files == (final,)
    assert sha(final.read_bytes()) == sha(DATA)
    assert result.title == "data"
    assert result.meta["filename"] == "data.bin"
    assert result.meta["size"] == len(DATA)
    assert result.meta["etag"]
    assert result.meta["content_type"] == "application/octet-stream"
    assert not part_path(final).exists()
    assert run.progress[0].filename == "data.bin"
    assert run.progress[-1].downloaded_bytes == run.progress[-1].total_bytes == len(DATA)
    assert len(run.progress) < 6  # coalesced, not one per chunk
    assert origin.requests[-1].headers.get("User-Agent") == "haul/0.1"


async def test_name_from_content_disposition(engine: HttpEngine, origin: Origin, tmp_path: Path):
    origin.add_file("/get", b"%PDF", "application/pdf", filename="Report final.pdf")
    result = await Run(engine, job_for(origin, "/get?id=3", tmp_path))()
    assert result.files == (tmp_path / "Report final.pdf",)


async def test_name_from_url_or_content_type(engine: HttpEngine, origin: Origin, tmp_path: Path):
    origin.add_file("/v/My%20Clip.mp4", b"mp4", "video/mp4")
    origin.add_file("/", b"mp4", "video/mp4")
    first = await Run(engine, job_for(origin, "/v/My%20Clip.mp4", tmp_path))()
    second = await Run(engine, job_for(origin, "/", tmp_path))()
    assert first.files == (tmp_path / "My Clip.mp4",)
    assert second.files == (tmp_path / "download.mp4",)


@pytest.mark.parametrize(
    ("path", "disposition", "given", "expected"),
    [
        ("/x", "../../etc/passwd", None, "passwd"),
        ("/a%00b.bin", None, None, "ab.bin"),
        ("/x", "y" * 300 + ".mp4", None, "y" * 196 + ".mp4"),
        ("/x", None, "../../escape.bin", "escape.bin"),
    ],
)
async def test_hostile_names_stay_inside_dest(
    engine: HttpEngine,
    origin: Origin,
    tmp_path: Path,
    path: str,
    disposition: str | None,
    given: str | None,
    expected: str,
):
    origin.add_file(path.replace("%00", "\x00"), b"data", filename=disposition)
    origin.add_file(path, b"data", filename=disposition)
    dest = tmp_path / "dest"
    result = await Run(engine, job_for(origin, path, dest, filename=given))()
    assert result.files == (dest / expected,)
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [expected]


async def test_existing_file_of_another_download_is_kept(
    engine: HttpEngine, origin: Origin, tmp_path: Path
):
    (tmp_path / "data.bin").write_bytes(b"someone else's")
    (tmp_path / "data (1).bin.part").write_bytes(b"another job's part")
    run = Run(engine, job_for(origin, "/files/data.bin", tmp_path))
    result = await run()
    assert result.files == (tmp_path / "data (2).bin",)
    assert run.progress[0].filename == "data (2).bin"
    assert (tmp_path / "data.bin").read_bytes() == b"someone else's"
    assert (tmp_path / "data (1).bin.part").read_bytes() == b"another job's part"


async def test_pause_then_resume_fetches_each_byte_once(
    engine: HttpEngine, origin: Origin, tmp_path: Path
):
    origin.throttle("/files/data.bin", 500_000)
    run = Run(engine, job_for(origin, "/files/data.bin", tmp_path))
    task = asyncio.create_task(run())
    part = tmp_path / "data.bin.part"
    await await_for(lambda: part_size(part) > 150_000, timeout=5)
    began = time.monotonic()
    run.stop.set("pause")
    with pytest.raises(TransferStopped):
        await task
    assert time.monotonic() - began < 1.0
    kept = part_size(part)
    assert 150_000 < kept < len(DATA)

    origin.throttle("/files/data.bin", None)
    again = Run(engine, job_for(origin, "/files/data.bin", tmp_path, run.progress[0].filename))
    result = await again()
    assert sha(result.files[0].read_bytes()) == sha(DATA)
    second = origin.requests[-1]
    assert second.range_header == f"bytes={kept}-"
    assert "If-Range" not in origin.requests[0].headers
    assert second.headers["If-Range"].startswith('"')  # the ETag the part was cut from
    assert second.status == 206
    assert origin.bytes_served("/files/data.bin") - len(DATA) < 100_000
    assert again.progress[0].downloaded_bytes == kept


async def test_resume_sends_if_range_from_the_part(
    engine: HttpEngine, origin: Origin, tmp_path: Path
):
    origin.fault("/files/data.bin", "reset", after_bytes=300_000)
    run = Run(engine, job_for(origin, "/files/data.bin", tmp_path))
    with pytest.raises(TransientTransferError) as failure:
        await run()
    assert failure.value.code == "connection"
    kept = part_size(tmp_path / "data.bin.part")  # a reset may drop unread bytes in flight
    assert 0 < kept <= 300_000

    await Run(engine, job_for(origin, "/files/data.bin", tmp_path, "data.bin"))()
    second = origin.requests[-1]
    assert (second.range_header, second.status) == (f"bytes={kept}-", 206)
    assert second.headers["If-Range"] == httpx.head(origin.url("/files/data.bin")).headers["etag"]
    assert (tmp_path / "data.bin").read_bytes() == DATA


async def test_changed_file_is_fetched_again_not_spliced(
    engine: HttpEngine, origin: Origin, tmp_path: Path
):
    origin.fault("/files/data.bin", "reset", after_bytes=300_000)
    with pytest.raises(TransientTransferError):
        await Run(engine, job_for(origin, "/files/data.bin", tmp_path))()
    changed = DATA[::-1]
    origin.add_file("/files/data.bin", changed)  # new bytes, new ETag
    await Run(engine, job_for(origin, "/files/data.bin", tmp_path, "data.bin"))()
    assert origin.requests[-1].headers.get("If-Range")
    assert origin.requests[-1].status == 200
    assert (tmp_path / "data.bin").read_bytes() == changed


SAME_TIME = 1_700_000_000.0


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        # New bytes under a new ETag.
        ({}, {}, "ETag changed"),
        # A weak ETag that stays; only Last-Modified tells.
        (
            {"etag": 'W/"v"', "modified": SAME_TIME},
            {"etag": 'W/"v"', "modified": SAME_TIME + 60},
            "Last-Modified date changed",
        ),
        # The same strong ETag and date, yet another length (a lying server).
        (
            {"etag": '"v"', "modified": SAME_TIME},
            {"etag": '"v"', "modified": SAME_TIME},
            f"length changed from {len(DATA)} to {len(DATA) + 4096} bytes",
        ),
    ],
    ids=["etag", "last-modified", "length"],
)
async def test_server_ignoring_if_range_gets_no_spliced_file(
    engine: HttpEngine,
    origin: Origin,
    tmp_path: Path,
    old: dict[str, Any],
    new: dict[str, Any],
    reason: str,
):
    origin.add_file("/files/data.bin", DATA, **old)
    origin.fault("/files/data.bin", "reset", after_bytes=300_000)
    with pytest.raises(TransientTransferError):
        await Run(engine, job_for(origin, "/files/data.bin", tmp_path))()
    assert part_size(tmp_path / "data.bin.part") > 0
    changed = DATA[::-1] + (DATA[:4096] if "length" in reason else b"")
    origin.add_file("/files/data.bin", changed, **new)
    origin.fault("/files/data.bin", "ignore_if_range")  # answers the resume with 206 anyway

    run = Run(engine, job_for(origin, "/files/data.bin", tmp_path, "data.bin"))
    result = await run()

    assert sha(result.files[0].read_bytes()) == sha(changed)
    resume, fresh = origin.requests[-2:]
    assert resume.status == 206 and resume.headers.get("If-Range")
    assert (fresh.range_header, fresh.status) == (None, 200)
    [notice] = [p.notice for p in run.progress if p.notice]
    assert notice == f"Starting again from the beginning: its {reason} since the download began."


async def test_whole_file_answer_to_a_range_request_restarts_cleanly(
    engine: HttpEngine, origin: Origin, tmp_path: Path
):
    origin.fault("/files/data.bin", "reset", after_bytes=300_000)
    with pytest.raises(TransientTransferError):
        await Run(engine, job_for(origin, "/files/data.bin", tmp_path))()
    changed = DATA[::-1]
    origin.add_file("/files/data.bin", changed, ranges=False)  # 200 to every Range

    run = Run(engine, job_for(origin, "/files/data.bin", tmp_path, "data.bin"))
    result = await run()

    assert sha(result.files[0].read_bytes()) == sha(changed)
    assert [r.status for r in origin.requests[-1:]] == [200]
    assert [p.notice for p in run.progress if p.notice] == [
        "Starting again from the beginning: the server sent the whole file instead of the rest."
    ]
    assert run.progress[-1].downloaded_bytes == len(changed)


@pytest.mark.parametrize("kind", ["short_body", "reset"])
async def test_cut_connections_are_said_in_words_and_resume(
    engine: HttpEngine, origin: Origin, tmp_path: Path, kind: str
):
    origin.fault("/files/data.bin", kind, after_bytes=300_000)
    with pytest.raises(TransientTransferError) as failure:
        await Run(engine, job_for(origin, "/files/data.bin", tmp_path))()
    message = failure.value.message
    said = "The download from 127.0.0.1 broke off: the connection ended after "
    assert message.startswith(said)
    assert message.endswith(f" of the {len(DATA)} bytes announced.")
    assert "<" not in message and "400" not in message and "Error" not in message
    assert failure.value.code == "connection"

    result = await Run(engine, job_for(origin, "/files/data.bin", tmp_path, "data.bin"))()
    assert sha(result.files[0].read_bytes()) == sha(DATA)
    assert origin.requests[-1].status == 206


async def test_server_without_ranges_restarts_from_zero(
    engine: HttpEngine, origin: Origin, tmp_path: Path
):
    origin.add_file("/plain.bin", DATA, ranges=False)
    (tmp_path / "plain.bin.part").write_bytes(b"garbage" * 1000)
    result = await Run(engine, job_for(origin, "/plain.bin", tmp_path, "plain.bin"))()
    assert sha(result.files[0].read_bytes()) == sha(DATA)
    [request] = origin.requests
    assert (request.range_header, request.status) == ("bytes=7000-", 200)


async def test_complete_part_and_416_counts_as_done(
    engine: HttpEngine, origin: Origin, tmp_path: Path
):
    (tmp_path / "data.bin.part").write_bytes(DATA)
    result = await Run(engine, job_for(origin, "/files/data.bin", tmp_path, "data.bin"))()
    assert result.files[0].read_bytes() == DATA
    assert [r.status for r in origin.requests] == [416]


async def test_oversized_part_is_replaced(engine: HttpEngine, origin: Origin, tmp_path: Path):
    (tmp_path / "data.bin.part").write_bytes(DATA + b"extra")
    result = await Run(engine, job_for(origin, "/files/data.bin", tmp_path, "data.bin"))()
    assert result.files[0].read_bytes() == DATA
    assert [r.status for r in origin.requests] == [416, 200]


async def test_stop_while_waiting_for_headers(engine: HttpEngine, origin: Origin, tmp_path: Path):
    origin.fault("/files/data.bin", "slow_headers", delay=5)
    run = Run(engine, job_for(origin, "/files/data.bin", tmp_path))
    task = asyncio.create_task(run())
    await await_for(lambda: origin.requests, timeout=5)
    began = time.monotonic()
    run.stop.set("cancel")
    with pytest.raises(TransferStopped):
        await task
    assert time.monotonic() - began < 1.0


async def test_cancelling_the_task_keeps_the_part(
    engine: HttpEngine, origin: Origin, tmp_path: Path
):
    origin.throttle("/files/data.bin", 500_000)
    task = asyncio.create_task(Run(engine, job_for(origin, "/files/data.bin", tmp_path))())
    part = tmp_path / "data.bin.part"
    await await_for(lambda: part_size(part) > 50_000, timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert part_size(part) > 50_000


async def test_503_is_transient_and_claims_no_name(
    engine: HttpEngine, origin: Origin, tmp_path: Path
):
    origin.fault("/files/data.bin", "status", status=503, headers={"Retry-After": "3"})
    with pytest.raises(TransientTransferError) as failure:
        await Run(engine, job_for(origin, "/files/data.bin", tmp_path))()
    assert failure.value.code == "http_503"
    assert failure.value.retry_after == 3
    assert list(tmp_path.iterdir()) == []


async def test_404_is_permanent_with_a_readable_message(
    engine: HttpEngine, origin: Origin, tmp_path: Path
):
    origin.fault("/files/data.bin", "404")
    with pytest.raises(PermanentTransferError) as failure:
        await Run(engine, job_for(origin, "/files/data.bin", tmp_path))()
    assert failure.value.code == "http_404"
    url = origin.url("/files/data.bin")
    assert failure.value.message == f"The server answered 404 Not Found for {url}."


async def test_429_carries_retry_after(engine: HttpEngine, origin: Origin, tmp_path: Path):
    origin.fault("/files/data.bin", "status", status=429, headers={"Retry-After": "7"})
    with pytest.raises(TransientTransferError) as failure:
        await Run(engine, job_for(origin, "/files/data.bin", tmp_path))()
    assert (failure.value.code, failure.value.retry_after) == ("http_429", 7.0)
    assert "wait 7 seconds" in failure.value.message


async def test_length_mismatch_keeps_the_part(engine: HttpEngine, origin: Origin, tmp_path: Path):
    (tmp_path / "data.bin.part").write_bytes(DATA[:1000])
    origin.fault("/files/data.bin", "bad_total", total=len(DATA) + 100)
    with pytest.raises(LengthMismatch):
        await Run(engine, job_for(origin, "/files/data.bin", tmp_path, "data.bin"))()
    assert (tmp_path / "data.bin.part").read_bytes() == DATA
    assert not (tmp_path / "data.bin").exists()


async def test_refused_connection_is_transient(engine: HttpEngine, tmp_path: Path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    job = EngineJob(1, f"http://127.0.0.1:{port}/x", tmp_path)
    with pytest.raises(TransientTransferError) as failure:
        await engine.download(job, lambda _: None, StopSignal())
    assert failure.value.code == "connection"


async def test_silent_server_times_out(origin: Origin, tmp_path: Path):
    origin.fault("/files/data.bin", "slow_headers", delay=5)
    engine = HttpEngine(read_timeout=0.2)
    try:
        with pytest.raises(TransientTransferError) as failure:
            await engine.download(
                job_for(origin, "/files/data.bin", tmp_path), lambda _: None, StopSignal()
            )
    finally:
        await engine.aclose()
    assert failure.value.code == "timeout"


async def test_progress_is_coalesced_on_a_slow_origin(
    engine: HttpEngine, origin: Origin, tmp_path: Path
):
    origin.add_file("/slow.bin", DATA[:300_000])
    origin.throttle("/slow.bin", 400_000)  # about 0.75 s
    run = Run(engine, job_for(origin, "/slow.bin", tmp_path))
    began = time.monotonic()
    await run()
    elapsed = time.monotonic() - began
    assert len(run.progress) <= elapsed / 0.25 + 3
    middle = run.progress[1:-1]
    assert middle and all(p.speed and p.total_bytes == 300_000 for p in middle)


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        (b'attachment; filename="caf\xe9.bin"', "café.bin"),  # latin-1, as old servers send
        (b"attachment; filename=caf\xe9.bin", "café.bin"),
        (b'attachment; filename="caf\xc3\xa9.bin"', "café.bin"),  # raw UTF-8
        (b"attachment; filename*=UTF-8''caf%C3%A9.bin", "café.bin"),  # RFC 5987
        (b"attachment; filename*=ISO-8859-1''caf%E9.bin", "café.bin"),
        (b"attachment; filename*=UTF-8''caf%E9.bin", "café.bin"),  # mislabelled latin-1
        (b"attachment; filename=\"x\xe9.bin\"; filename*=UTF-8''r%C3%A9el.bin", "réel.bin"),
        (b"attachment; filename*=nonsense''a%E9.bin", "aé.bin"),
        (b'attachment; filename="\xff\xfe.bin"', "ÿþ.bin"),
    ],
)
async def test_a_content_disposition_in_any_encoding_names_the_file(
    engine: HttpEngine, origin: Origin, tmp_path: Path, disposition: bytes, expected: str
):
    origin.add_file("/get", b"data", disposition=disposition)
    result = await Run(engine, job_for(origin, "/get", tmp_path))()
    assert result.files == (tmp_path / expected,)
    assert (tmp_path / expected).read_bytes() == b"data"
