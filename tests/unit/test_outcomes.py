"""How a built-in job's end is recorded (:class:`~haul.worker.outcomes.Outcomes`), on the
in-memory job store with a download root in a temporary folder: where finished files go, a
completion recorded once whatever the database does, and each other end (stalled, shut down,
given back, canceled meanwhile, waiting for room) as the download shows it afterwards."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest

from haul.core.status import Phase
from haul.engine import filing
from haul.engine.base import EngineResult, Profile
from haul.errors import DiskFull, StorageError, TransientTransferError
from haul.store.jobs import Completion, Recorded
from haul.store.models import Download, utcnow
from haul.worker.outcomes import Outcomes
from tests.support.job_runs import Bench, bench

URL = "https://files.example/clip.bin"


@pytest.fixture
async def b(tmp_path: Path) -> Bench:
    return await bench(tmp_path)


def outcomes(b: Bench) -> Outcomes:
    return b.runner.outcomes


def finished(b: Bench, row: Download, *names: str, size: int = 100) -> EngineResult:
    """What an engine leaves in the job's work folder when it is done."""
    work = b.builtin.work_dir(row.id)
    work.mkdir(parents=True, exist_ok=True)
    for name in names:
        (work / name).write_bytes(b"x" * size)
    return EngineResult(tuple(work / n for n in names), title="A clip", meta={"duration": 3})


async def test_finished_files_go_to_the_owners_and_the_profiles_folder(tmp_path: Path) -> None:
    b = await bench(tmp_path, profiles={7: Profile(name="films", target_dir="films")})

    async def owner_folder(owner: str) -> str:
        return f"people/{owner}"

    b.ctx.owner_folder = owner_folder
    row, _ = await b.claimed(URL, profile_id=7)
    await outcomes(b).completed(row, finished(b, row, "clip.mkv", "clip.en.srt"))

    stored = b.stored(row.id)
    assert stored.phase == Phase.COMPLETED
    assert [f["path"] for f in stored.files] == [
        "people/alice/films/clip.mkv",
        "people/alice/films/clip.en.srt",
    ]
    assert b.root_files() == {
        "people/alice/films/clip.mkv": 100,
        "people/alice/films/clip.en.srt": 100,
    }
    assert stored.title == "A clip" and stored.meta["result"] == {"duration": 3}
    assert not b.builtin.work_dir(row.id).exists()


async def test_a_file_outside_the_work_folder_is_not_moved(b: Bench) -> None:
    row, _ = await b.claimed(URL)
    elsewhere = b.root.parent / "elsewhere.bin"
    elsewhere.write_bytes(b"not haul's")
    result = finished(b, row, "clip.bin")
    await outcomes(b).completed(row, EngineResult((*result.files, elsewhere)))
    assert [f["path"] for f in b.stored(row.id).files] == ["clip.bin"]
    assert elsewhere.read_bytes() == b"not haul's"


async def test_a_completion_whose_answer_was_lost_is_recorded_once(
    b: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = b.store.complete
    answers_lost: list[int] = []

    async def lost_answer(completion: Completion) -> Recorded:
        recorded = await original(completion)
        if not answers_lost:  # written, but the answer never came back
            answers_lost.append(completion.download_id)
            raise StorageError("The database connection was lost.")
        return recorded

    monkeypatch.setattr(b.store, "complete", lost_answer)
    row, _ = await b.claimed(URL)
    await outcomes(b).completed(row, finished(b, row, "clip.bin"))

    stored = b.stored(row.id)
    assert stored.phase == Phase.COMPLETED and answers_lost == [row.id]
    assert [f["path"] for f in stored.files] == ["clip.bin"]
    assert b.history(row.id) == ["admitted", "started", "downloaded", "probed", "completed"]
    assert len(b.store.state.media_files) == 1
    assert b.completed == [row.id]
    assert b.published == [(row.id, Phase.COMPLETED)]


async def test_a_refused_completion_is_written_again_until_taken(
    b: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = b.store.complete
    refused: list[int] = []

    async def down_for_a_while(completion: Completion) -> Recorded:
        if len(refused) < 3:
            refused.append(completion.download_id)
            raise StorageError("The database is unavailable.")
        return await original(completion)

    monkeypatch.setattr(b.store, "complete", down_for_a_while)
    row, _ = await b.claimed(URL)
    await outcomes(b).completed(row, finished(b, row, "clip.bin"))
    assert len(refused) == 3
    assert b.stored(row.id).phase == Phase.COMPLETED
    assert b.history(row.id).count("downloaded") == 1 and b.completed == [row.id]


async def test_a_completion_not_announced_stays_recorded(b: Bench) -> None:
    async def refusing(row: Download) -> None:
        raise StorageError("The event bus is unavailable.")

    b.ctx.publish = refusing
    row, _ = await b.claimed(URL)
    await outcomes(b).completed(row, finished(b, row, "clip.bin"))
    assert b.stored(row.id).phase == Phase.COMPLETED and b.completed == [row.id]


async def test_files_moved_before_a_crash_are_found_from_the_note(b: Bench) -> None:
    row, _ = await b.claimed(URL)
    result = finished(b, row, "a.bin", "b.bin")
    work = b.builtin.work_dir(row.id)
    note = filing.plan(work, result.files, b.root, "A clip", {})
    filing.write(work, note)
    note.moves[0].source.replace(note.moves[0].final)  # the process died after one move

    filed = await outcomes(b).refiled(row)
    assert filed is not None
    assert sorted(p.name for p in filed.places) == ["a.bin", "b.bin"]
    assert b.root_files() == {"a.bin": 100, "b.bin": 100}
    await outcomes(b).record(row, filed)
    assert b.stored(row.id).phase == Phase.COMPLETED
    assert [f["path"] for f in b.stored(row.id).files] == ["a.bin", "b.bin"]
    assert b.stored(row.id).title == "A clip"


async def test_a_note_whose_files_are_gone_is_forgotten(b: Bench) -> None:
    row, _ = await b.claimed(URL)
    result = finished(b, row, "a.bin", "b.bin")
    work = b.builtin.work_dir(row.id)
    note = filing.plan(work, result.files, b.root, None, {})
    filing.write(work, note)
    for move in note.moves:
        move.source.replace(move.final)
    note.moves[1].final.unlink()  # someone deleted one of them

    assert await outcomes(b).refiled(row) is None  # fetched again
    assert b.root_files() == {}  # not left to come back as "a (1).bin"
    assert b.work_files(row.id) == []


async def test_a_stalled_transfer_is_retried(b: Bench) -> None:
    row, job = await b.claimed(URL)
    job.last_change = time.monotonic() - 120
    job.stop.set("stall")
    await outcomes(b).stopped(row, job)
    stored = b.stored(row.id)
    assert stored.phase == Phase.QUEUED and stored.retry_attempt == 1
    assert stored.last_error_code == "stalled"
    assert stored.last_error_message == "The transfer stalled: no data received for 2 minutes."


async def test_a_shutdown_gives_the_job_back_with_what_it_learned(b: Bench) -> None:
    row, job = await b.claimed(URL)
    row.meta = {**row.meta, "resolved": {"kind": "file", "url": URL, "filename": "clip.bin"}}
    row.title = "A clip"
    job.stop.set("shutdown")
    await outcomes(b).stopped(row, job)
    stored = b.stored(row.id)
    assert stored.phase == Phase.ACTIVE and stored.lease_worker_id is None
    assert stored.meta["resolved"]["filename"] == "clip.bin" and stored.title == "A clip"
    assert b.history(row.id) == ["admitted", "started"]


async def test_a_cancelled_task_gives_the_job_back(b: Bench) -> None:
    row, _ = await b.claimed(URL)
    row.meta = {**row.meta, "resolved": {"kind": "media", "url": URL}}
    await outcomes(b).released(row)
    stored = b.stored(row.id)
    assert stored.lease_worker_id is None and stored.meta["resolved"]["kind"] == "media"


async def test_a_server_asking_for_a_longer_wait_is_heard(b: Bench) -> None:
    row, _ = await b.claimed(URL)
    before = utcnow()
    error = TransientTransferError("Too many requests.", code="http_429", retry_after=30)
    await outcomes(b).failed(row, error)
    stored = b.stored(row.id)
    assert stored.retry_next_at is not None
    assert stored.retry_next_at >= before + timedelta(seconds=30)
    (scheduled,) = b.events(row.id, "retry_scheduled")
    assert scheduled.data["delay"] == 30.0


async def test_a_failure_of_a_download_canceled_meanwhile_leaves_it_canceled(b: Bench) -> None:
    row, _ = await b.claimed(URL)
    b.stored(row.id).canceled_at = utcnow()
    b.stored(row.id).phase = Phase.CANCELED.value
    await outcomes(b).failed(row, TransientTransferError("Connection reset.", code="reset"))
    stored = b.stored(row.id)
    assert stored.phase == Phase.CANCELED and stored.retry_next_at is None
    assert stored.retry_attempt == 0 and b.failed == []
    assert b.store.state.errors == []


async def test_waiting_for_space_says_what_is_free(b: Bench) -> None:
    row, _ = await b.claimed(URL)
    await outcomes(b).waiting_for_space(row, DiskFull(needed=5_000_000))
    stored = b.stored(row.id)
    assert stored.phase == Phase.QUEUED and stored.last_error_code == "disk_full"
    message = stored.last_error_message or ""
    assert message.startswith("Waiting for disk space: ") and message.endswith(", 5.0 MB needed.")
    (waiting,) = b.events(row.id, "waiting_for_space")
    assert waiting.message == message


async def test_the_engines_notices_go_to_the_history(b: Bench) -> None:
    row, _ = await b.claimed(URL)
    notice = "The file changed on the server since the download began; fetching it again."
    await outcomes(b).noted(row, [notice])
    (restarted,) = b.events(row.id, "restarted")
    assert restarted.message == notice
