"""A built-in job's run, from its claim to its next resting state, on the in-memory job store
and the scripted engine: what a user sees of it afterwards (its phase, files, error, retry and
history) and while it runs (its progress)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from haul.core import lifecycle
from haul.core.admission import Limits
from haul.core.status import Phase, Status
from haul.engine.base import Profile, Progress, StopSignal
from haul.engine.diskspace import waiting_message
from haul.engine.fake import Script
from haul.engine.filing import NOTE
from haul.engine.stopwatch import until_stopped
from haul.engine.ytdlp import ExtractedEntry, Extraction
from haul.errors import (
    DiskFull,
    PermanentTransferError,
    StorageError,
    TransferStopped,
    TransientTransferError,
)
from haul.store.jobs import Completion, JobTransaction, Recorded, Successor
from haul.store.models import utcnow
from tests.support.job_runs import OWNER, WORKER, Bench, bench
from tests.support.wait import await_for

URL = "https://files.example/videos/clip.bin"
OTHER = "https://files.example/videos/other.bin"
PAGE = "https://video.example/talks/42"


@pytest.fixture
async def b(tmp_path: Path) -> Bench:
    return await bench(tmp_path)


async def test_a_direct_file_completes_and_is_filed_under_a_free_name(b: Bench) -> None:
    (b.root / "clip.bin").write_bytes(b"someone else's")
    b.script(URL, size=3000, steps=3, filename="clip.bin")
    row, job = await b.run(URL)

    stored = b.stored(row.id)
    assert stored.phase == Phase.COMPLETED
    assert stored.files == [{"path": "clip (1).bin", "name": "clip (1).bin", "size": 3000}]
    assert b.root_files() == {"clip.bin": 14, "clip (1).bin": 3000}
    assert b.work_files(row.id) == []
    assert stored.meta["resolved"]["kind"] == "file"
    assert stored.meta["resolved"]["filename"] == "clip.bin"
    assert stored.lease_worker_id is None and stored.last_error_code is None
    assert b.history(row.id) == ["admitted", "started", "downloaded", "probed", "completed"]
    assert job.progress == Progress(3000, 3000, filename="clip.bin")
    assert row.id not in b.live
    # The first answer told a file: one request, its headers asked before any byte.
    (engine_job,) = b.direct.jobs
    assert engine_job.url == URL and engine_job.accept is not None
    assert b.published == [(row.id, Phase.ACTIVE), (row.id, Phase.COMPLETED)]
    assert b.completed == [row.id] and b.failed == []


async def test_a_finished_file_waits_for_the_processing_step_when_not_probed(
    tmp_path: Path,
) -> None:
    b = await bench(tmp_path, probed=False)
    row, _ = await b.run(URL)
    stored = b.stored(row.id)
    assert stored.phase == Phase.PROCESSING and stored.lease_worker_id is not None
    assert b.history(row.id) == ["admitted", "started", "downloaded"]
    assert b.processed == [row.id] and b.completed == []


async def test_progress_shows_while_the_job_runs(b: Bench) -> None:
    script = b.script(URL, size=4000, steps=4)
    script.gate = gate = asyncio.Event()
    row, job = await b.claimed(URL)
    task = b.start(row, job)
    await await_for(lambda: job.progress is not None and job.progress.downloaded_bytes == 4000)
    item = await b.item(row.id)
    assert item.status == Status.DOWNLOADING
    assert (item.downloaded_bytes, item.total_bytes) == (4000, 4000)
    gate.set()
    await task
    assert b.stored(row.id).phase == Phase.COMPLETED


async def test_a_transient_error_schedules_a_retry_with_backoff(b: Bench) -> None:
    error = TransientTransferError("The server answered 503 Service Unavailable.", code="http_503")
    b.script(URL, size=2000, error=error)
    before = utcnow()
    row, _ = await b.run(URL)
    after = utcnow()

    stored = b.stored(row.id)
    assert stored.phase == Phase.QUEUED and stored.lease_worker_id is None
    assert stored.retry_attempt == 1
    assert stored.retry_next_at is not None
    assert before + timedelta(seconds=5) <= stored.retry_next_at <= after + timedelta(seconds=5)
    assert stored.last_error_code == "http_503"
    assert stored.last_error_message == "The server answered 503 Service Unavailable."
    (scheduled,) = b.events(row.id, "retry_scheduled")
    assert scheduled.data == {"code": "http_503", "attempt": 1, "delay": 5.0}
    assert b.history(row.id)[-1] == "retry_scheduled"
    # The part is kept for the next attempt, which knows the source is a file.
    assert b.work_files(row.id) == ["file.bin"]
    assert b.root_files() == {}
    assert stored.meta["resolved"]["filename"] == "file.bin"
    assert b.failed == [] and b.published[-1] == (row.id, Phase.QUEUED)


async def test_the_next_attempt_goes_straight_to_the_known_file(b: Bench) -> None:
    script = b.script(URL, error=TransientTransferError("Connection reset.", code="reset"))
    row, _ = await b.run(URL)
    script.error = None
    again, job = await b.reclaimed(row.id)
    await b.runner.run(again, job)
    assert b.stored(row.id).phase == Phase.COMPLETED
    assert b.history(row.id)[:4] == ["admitted", "started", "retry_scheduled", "admitted"]
    assert "resumed" in b.history(row.id)
    first, second = b.direct.jobs
    assert first.accept is not None
    assert (second.accept, second.filename) == (None, "file.bin")


async def test_a_download_whose_attempts_are_used_up_fails(b: Bench) -> None:
    b.script(URL, error=TransientTransferError("Connection reset.", code="reset"))
    row, _ = await b.run(URL)
    for _ in range(2):  # the policy allows two retries
        again, job = await b.reclaimed(row.id)
        await b.runner.run(again, job)

    stored = b.stored(row.id)
    assert stored.phase == Phase.FAILED and stored.failed_at is not None
    assert stored.retry_attempt == 2
    assert (stored.last_error_code, stored.last_error_message) == ("reset", "Connection reset.")
    assert [e.data["attempt"] for e in b.events(row.id, "retry_scheduled")] == [1, 2]
    assert b.history(row.id)[-1] == "failed"
    assert [e.error_code for e in b.store.state.errors] == ["reset"]
    assert b.failed == [row.id]
    assert len(b.direct.jobs) == 3


async def test_a_permanent_error_fails_at_once(b: Bench) -> None:
    error = PermanentTransferError("The server answered 404 Not Found.", code="http_404")
    b.script(URL, error=error)
    row, _ = await b.run(URL)
    stored = b.stored(row.id)
    assert stored.phase == Phase.FAILED
    assert (stored.retry_attempt, stored.retry_next_at) == (0, None)
    assert stored.last_error_code == "http_404"
    assert b.history(row.id) == ["admitted", "started", "failed"]
    (failed,) = b.events(row.id, "failed")
    assert failed.message == "The server answered 404 Not Found."
    assert b.failed == [row.id]


async def test_a_source_haul_cannot_fetch_fails_and_is_listed(b: Bench) -> None:
    row, _ = await b.run("ftp://files.example/clip.bin")
    stored = b.stored(row.id)
    assert stored.phase == Phase.FAILED and stored.last_error_code == "unsupported_url"
    assert [u.url for u in b.store.state.unsupported] == ["ftp://files.example/clip.bin"]
    assert b.direct.jobs == []


async def test_a_full_disk_parks_the_download_without_spending_an_attempt(b: Bench) -> None:
    full = DiskFull(waiting_message(1000, 3000), needed=3000, free=1000)
    script = b.script(URL, size=1000, error=full)
    row, _ = await b.run(URL)

    stored = b.stored(row.id)
    assert stored.phase == Phase.QUEUED and stored.retry_attempt == 0
    assert stored.last_error_code == "disk_full"
    assert stored.last_error_message == "Waiting for disk space: 1.0 KB free, 3.0 KB needed."
    assert stored.retry_next_at is not None and stored.retry_next_at > utcnow()
    assert b.work_files(row.id) == ["file.bin"]  # its part is kept

    again, job = await b.reclaimed(row.id)  # still full: said once in the history
    await b.runner.run(again, job)
    assert len(b.events(row.id, "waiting_for_space")) == 1
    assert b.stored(row.id).retry_attempt == 0 and b.failed == []

    script.error = None  # room again
    again, job = await b.reclaimed(row.id)
    await b.runner.run(again, job)
    assert b.stored(row.id).phase == Phase.COMPLETED
    assert b.stored(row.id).last_error_code is None


async def test_a_pause_while_running_parks_it_and_keeps_its_part(b: Bench) -> None:
    script = b.script(URL, size=2000, steps=2)
    script.gate = asyncio.Event()
    row, job = await b.claimed(URL)
    task = b.start(row, job)
    await await_for(lambda: row.id in b.direct.running and job.progress is not None)
    b.ask(row.id, lifecycle.pause)
    b.live.stop(row.id, "pause")  # what the worker's reconciler does
    await task

    stored = b.stored(row.id)
    assert stored.phase == Phase.QUEUED and stored.desired_paused
    assert stored.lease_worker_id is None and stored.retry_attempt == 0
    assert b.history(row.id)[-2:] == ["pause_requested", "paused"]
    assert b.work_files(row.id) == ["file.bin"]
    assert b.root_files() == {}
    assert stored.meta["resolved"]["kind"] == "file"  # the next attempt goes straight to it
    assert b.direct.running == set() and row.id not in b.live


@pytest.mark.parametrize("delete_files", [True, False])
async def test_a_cancel_while_running_stops_it(b: Bench, delete_files: bool) -> None:
    script = b.script(URL, size=2000, steps=2)
    script.gate = asyncio.Event()
    row, job = await b.claimed(URL)
    task = b.start(row, job)
    await await_for(lambda: row.id in b.direct.running and job.progress is not None)
    b.ask(row.id, lambda s: lifecycle.cancel(s, at=utcnow(), delete_files=delete_files))
    b.live.stop(row.id, "cancel")
    await task

    stored = b.stored(row.id)
    assert stored.phase == Phase.CANCELED and stored.lease_worker_id is None
    assert b.history(row.id)[-1] == "canceled"
    assert b.work_files(row.id) == ([] if delete_files else ["file.bin"])
    assert b.builtin.work_dir(row.id).exists() is not delete_files
    assert b.root_files() == {}
    assert b.failed == []


async def test_a_job_finished_before_a_crash_is_recorded_not_fetched_again(
    b: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first attempt finished and filed its file, but could not record it: the database
    # refused, and the worker shut down while it waited to write again.
    refusals: list[Completion] = []

    async def refused(completion: Completion) -> Recorded:
        refusals.append(completion)
        raise StorageError("The database is unavailable.")

    monkeypatch.setattr(b.store, "complete", refused)
    b.script(URL, size=1500, filename="clip.bin")
    row, job = await b.claimed(URL)
    task = b.start(row, job)
    await await_for(lambda: len(refusals) > 1, what="the completion refused and tried again")
    b.live.stop(row.id, "shutdown")
    await task
    assert b.root_files() == {"clip.bin": 1500}
    assert b.work_files(row.id) == [NOTE]
    assert b.stored(row.id).phase == Phase.ACTIVE and b.stored(row.id).lease_worker_id is None

    monkeypatch.undo()  # the database is back
    again, job = await b.reclaimed(row.id)
    await b.runner.run(again, job)
    stored = b.stored(row.id)
    assert stored.phase == Phase.COMPLETED
    assert stored.files == [{"path": "clip.bin", "name": "clip.bin", "size": 1500}]
    assert b.root_files() == {"clip.bin": 1500}
    assert b.work_files(row.id) == []
    assert len(b.direct.jobs) == 1  # not fetched again
    assert b.history(row.id).count("downloaded") == 1
    assert b.completed == [row.id]


async def test_a_page_goes_to_the_media_engine(b: Bench) -> None:
    b.ctx.extract = lambda url: Extraction("media", url, id="42", title="A talk")
    b.script(PAGE, content_type="text/html")  # the first answer is a page: closed unread
    b.media.scripts[PAGE] = Script(size=5000, filename="A talk [42].mp4")
    row, _ = await b.run(PAGE)

    stored = b.stored(row.id)
    assert stored.phase == Phase.COMPLETED and stored.title == "A talk"
    assert b.root_files() == {"A talk [42].mp4": 5000}
    assert stored.meta["resolved"]["kind"] == "media"
    (declined,) = b.direct.jobs
    assert declined.accept is not None and b.work_files(row.id) == []
    (media_job,) = b.media.jobs
    assert media_job.url == PAGE and media_job.playlist_index is None


async def test_a_direct_file_with_an_audio_only_profile_goes_to_the_media_engine(
    tmp_path: Path,
) -> None:
    mp3 = Profile(name="mp3", audio_format="mp3")
    b = await bench(tmp_path, profiles={7: mp3})
    b.script(URL, size=3000, content_type="video/mp4")
    b.media.scripts[URL] = Script(size=1000, filename="clip.mp3")
    row, _ = await b.run(URL, profile_id=7)

    stored = b.stored(row.id)
    assert stored.phase == Phase.COMPLETED
    assert list(b.root_files().values()) == [1000]  # what yt-dlp made, not the 3000 bytes
    assert stored.meta["resolved"]["kind"] == "file"
    (declined,) = b.direct.jobs  # its answer was closed unread
    assert declined.accept is not None
    (media_job,) = b.media.jobs
    assert media_job.url == URL and media_job.profile == mp3


async def test_a_known_file_with_an_audio_only_profile_skips_the_http_engine(
    tmp_path: Path,
) -> None:
    b = await bench(tmp_path, profiles={7: Profile(name="mp3", audio_format="mp3")})
    b.media.scripts[URL] = Script(size=1000, filename="clip.mp3")
    known = {"resolved": {"kind": "file", "url": URL, "filename": "clip.mp4"}}
    row, _ = await b.run(URL, profile_id=7, meta=known)

    assert b.stored(row.id).phase == Phase.COMPLETED
    assert b.direct.jobs == [] and [j.url for j in b.media.jobs] == [URL]


async def test_a_direct_file_with_a_plain_profile_stays_with_the_http_engine(
    tmp_path: Path,
) -> None:
    b = await bench(tmp_path, profiles={7: Profile(name="mp4", container="mp4", format="best")})
    b.script(URL, size=3000)
    row, _ = await b.run(URL, profile_id=7)

    assert b.stored(row.id).phase == Phase.COMPLETED
    assert len(b.direct.jobs) == 1 and b.media.jobs == []


async def test_a_format_chosen_for_a_direct_file_sends_it_to_the_media_engine(
    tmp_path: Path,
) -> None:
    plain = Profile(name="mp4", container="mp4", format="best")
    b = await bench(tmp_path, profiles={7: plain})
    b.script(URL, size=3000, content_type="video/mp4")
    b.media.scripts[URL] = Script(size=1000, filename="clip.mp4")
    row, _ = await b.run(URL, profile_id=7, format="worst")

    assert b.stored(row.id).phase == Phase.COMPLETED
    assert list(b.root_files().values()) == [1000]
    (media_job,) = b.media.jobs
    assert media_job.profile == Profile(name="mp4", container="mp4", format="worst")


async def test_audio_chosen_for_a_page_is_applied_over_its_profile(b: Bench) -> None:
    b.ctx.extract = lambda url: Extraction("media", url, id="42", title="A talk")
    b.script(PAGE, content_type="text/html")
    b.media.scripts[PAGE] = Script(size=500, filename="A talk [42].opus")
    row, _ = await b.run(PAGE, audio_format="opus", audio_quality="3")

    assert b.stored(row.id).phase == Phase.COMPLETED
    (media_job,) = b.media.jobs
    assert (media_job.profile.audio_format, media_job.profile.audio_quality) == ("opus", "3")


async def test_a_playlist_page_becomes_a_parent_of_its_entries(b: Bench) -> None:
    entries = (
        ExtractedEntry(1, "https://video.example/talks/1", "First"),
        ExtractedEntry(2, None, "Second"),
    )
    b.ctx.extract = lambda url: Extraction("playlist", url, title="Talks", entries=entries)
    b.script(PAGE, content_type="text/html")
    row, _ = await b.run(PAGE)

    parent = b.stored(row.id)
    assert parent.phase == Phase.PARENT and parent.title == "Talks"
    assert parent.lease_worker_id is None
    assert b.history(row.id)[-1] == "expanded"
    children = [j for j in b.store.state.jobs.values() if j.parent_id == row.id]
    assert [(c.source_url, c.playlist_index, c.title, c.phase) for c in children] == [
        ("https://video.example/talks/1", None, "First", Phase.QUEUED),
        (PAGE, 2, "Second", Phase.QUEUED),
    ]
    assert b.media.jobs == [] and b.root_files() == {}


async def test_a_visitors_playlist_is_refused(b: Bench) -> None:
    entries = (ExtractedEntry(1, None, "First"), ExtractedEntry(2, None, "Second"))
    b.ctx.extract = lambda url: Extraction("playlist", url, title="Talks", entries=entries)
    b.script(PAGE, content_type="text/html")
    row, _ = await b.run(PAGE, owner="session:visitor")
    stored = b.stored(row.id)
    assert stored.phase == Phase.FAILED and stored.last_error_code == "playlist_refused"
    assert [j.id for j in b.store.state.jobs.values()] == [row.id]  # no entries queued


def admit_and_lease_one(tx: JobTransaction) -> list[int]:
    """The worker's successor: the slot a finished job frees goes to the next one."""
    tx.admit_waiting(Limits(1))
    return [row.id for row in tx.claim(WORKER, 1)]


async def test_a_completion_starts_the_next_job_in_the_same_write(b: Bench) -> None:
    row, job = await b.claimed(URL)
    waiting = b.store.state.add(OWNER, source_url=OTHER, dedupe_key=OTHER)
    started: list[list[int]] = []
    follow = await b.runner.run(row, job, Successor(admit_and_lease_one, started.append))
    assert follow == [waiting.id] and started == [[waiting.id]]
    assert b.stored(waiting.id).phase == Phase.ACTIVE
    assert b.stored(waiting.id).lease_worker_id == WORKER


async def test_a_job_that_did_not_complete_starts_nothing(b: Bench) -> None:
    b.script(URL, error=PermanentTransferError("Gone.", code="http_410"))
    row, job = await b.claimed(URL)
    waiting = b.store.state.add(OWNER, source_url=OTHER, dedupe_key=OTHER)
    started: list[list[int]] = []
    follow = await b.runner.run(row, job, Successor(admit_and_lease_one, started.append))
    assert follow is None and started == []
    assert b.stored(waiting.id).phase == Phase.QUEUED


async def test_an_end_the_database_refused_gives_the_lease_back_later(
    b: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refused(*args: object) -> None:
        raise StorageError("The database is unavailable.")

    monkeypatch.setattr(b.store, "failed", refused)
    b.script(URL, error=TransientTransferError("Connection reset.", code="reset"))
    row, _ = await b.run(URL)
    # Not recorded: the job is dropped, and the next heartbeat gives its lease back.
    assert row.id not in b.live and row.id in b.live.dropped()
    assert b.stored(row.id).phase == Phase.ACTIVE
    assert b.stored(row.id).lease_worker_id == WORKER


async def test_work_told_to_stop_ends_as_a_stop_even_when_it_fails_as_it_goes() -> None:
    """A stop cancels the awaited work; what that work raises while it is torn down (a
    connection cut by the cancel) is not the download's failure: it was stopped."""
    stop = StopSignal()

    async def transfer() -> int:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise TransientTransferError("The connection closed.", code="connection") from None
        return 1

    stop.set("pause")
    with pytest.raises(TransferStopped):
        await until_stopped(transfer(), stop, interval=0.01)

    async def quick() -> int:
        return 7

    assert await until_stopped(quick(), StopSignal()) == 7
