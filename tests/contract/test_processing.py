"""What the processing step reads and writes, the same in memory, on SQLite and on
PostgreSQL."""

from __future__ import annotations

from typing import Any

from haul.core.status import Phase
from haul.store.jobs import WorkerInfo
from haul.store.models import utcnow
from haul.store.processing import Finished
from tests.contract.conftest import Harness


async def finished_download(h: Harness, worker: str | None = None, **fields: Any) -> int:
    files = [{"path": "a.mkv", "name": "a.mkv", "size": 3, "mtime": None}]
    return await h.add(
        "a", phase=Phase.PROCESSING.value, lease_worker_id=worker, files=files, **fields
    )


def record(name: str) -> dict[str, Any]:
    return {"path": name, "file_name": name, "size": 3, "is_media": True, "file_exists": True}


async def workers(h: Harness, *ids: str) -> None:
    for worker in ids:
        await h.store.register_worker(WorkerInfo(worker, "host", 1))


async def test_unheld_downloads_wait_and_are_taken_once(harness: Harness) -> None:
    await workers(harness, "w", "other")
    orphan = await finished_download(harness)
    held = await finished_download(harness, "other")
    await harness.add("a", phase=Phase.COMPLETED.value)
    second = await finished_download(harness)
    store = harness.processing
    assert await store.waiting(10) == [orphan, second]
    assert await store.waiting(1) == [orphan]
    assert await store.take([orphan, held, second], "w") == [orphan, second]
    assert await store.take([orphan], "other") == []
    assert await store.waiting(10) == []
    assert await harness.get(orphan, "lease_worker_id") == "w"


async def test_jobs_are_what_this_worker_holds(harness: Harness) -> None:
    await workers(harness, "w", "other")
    mine = await finished_download(
        harness, "w", title="A", client="qbit", last_error_code="x", last_error_message="why"
    )
    theirs = await finished_download(harness, "other")
    jobs = await harness.processing.jobs([mine, theirs], "w")
    assert [j.id for j in jobs] == [mine]
    job = jobs[0]
    assert (job.title, job.client, job.client_held) == ("A", "qbit", True)
    assert (job.error_code, job.error_message) == ("x", "why")
    assert job.files[0]["name"] == "a.mkv"
    assert job.subject is None and job.media_id is None and job.profile is None


async def test_finishing_completes_what_is_still_held(harness: Harness) -> None:
    await workers(harness, "w")
    done = await finished_download(harness, "w")
    canceled = await finished_download(harness, "w", canceled_at=utcnow())
    gone = await finished_download(harness, "w")
    await harness.set(gone, lease_worker_id=None)  # taken back meanwhile
    files = [{"path": "b.mkv", "name": "b.mkv", "size": 3, "mtime": None}]
    written = await harness.processing.finish(
        [
            Finished(done, "w", files, [record("b.mkv")], [("probed", "1 of 1", {})], "e", "m"),
            Finished(canceled, "w", files, [record("b.mkv")], []),
            Finished(gone, "w", files, [record("b.mkv")], []),
        ]
    )
    assert written == [True, False, False]
    assert await harness.get(done, "phase") == Phase.COMPLETED.value
    assert await harness.get(done, "lease_worker_id") is None
    assert await harness.get(done, "files") == files
    assert await harness.get(done, "last_error_code") == "e"
    assert await harness.history(done) == ["probed", "completed"]
    assert await harness.media_files(done) == ["b.mkv"]
    for untouched in (canceled, gone):
        assert await harness.get(untouched, "phase") == Phase.PROCESSING.value
        assert await harness.history(untouched) == []
        assert await harness.media_files(untouched) == []


async def test_finishing_again_replaces_the_file_records(harness: Harness) -> None:
    await workers(harness, "w")
    job = await finished_download(harness, "w")
    store = harness.processing
    assert await store.finish([Finished(job, "w", [], [record("old.mkv")], [])]) == [True]
    await harness.set(job, phase=Phase.PROCESSING.value, lease_worker_id="w")
    assert await store.finish([Finished(job, "w", [], [record("new.mkv")], [])]) == [True]
    assert await harness.media_files(job) == ["new.mkv"]
