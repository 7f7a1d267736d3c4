"""The monitor of external clients on a fake client and the in-memory job store: what one
pass records of what the client says, and what it asks of the client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from haul.clients.fake import FakeClient
from haul.core.admission import Limits
from haul.core.bandwidth import HELD_MARK, HELD_MESSAGE
from haul.core.client_items import ClientItem
from haul.core.status import Status
from haul.store.memory_state import StoredJob
from haul.store.models import utcnow
from tests.support.external import Clients, spec


class PassingFailures(FakeClient):
    """A client whose errors name a passing problem (a tracker down, say): worth a retry."""

    def failure_passes(self, item: ClientItem) -> bool:
        return True


@pytest.fixture
async def clients(tmp_path: Path) -> AsyncIterator[Clients]:
    setup = Clients(tmp_path, attempts=1)
    setup.fakes["judging"] = PassingFailures
    await setup.start()
    await setup.configure(spec("qbit"), spec("judging"), spec("seeder", remove_completed=True))
    yield setup
    await setup.aclose()


async def test_a_finished_item_is_recorded_once(clients: Clients) -> None:
    job = await clients.held("qbit", title=None)
    clients.clients["qbit"].advance(str(job.client_ref), 10_000)
    assert await clients.external.monitor() == 1
    assert clients.seen(job).status is Status.PROCESSING
    assert clients.history(job) == ["handed_over", "downloaded"]
    assert job.title == "file"  # the client's name for it
    assert clients.processed == [job.id]
    assert await clients.external.monitor() == 0  # watched no more: nothing written twice
    assert clients.history(job).count("downloaded") == 1
    assert clients.processed == [job.id]


async def test_a_seeding_item_counts_as_finished(clients: Clients) -> None:
    job = await clients.held("qbit")
    clients.set_item(job, status=Status.SEEDING, files=(str(clients.root / "a.bin"),))
    await clients.external.monitor()
    assert clients.seen(job).status is Status.PROCESSING
    assert [f["path"] for f in job.files] == ["a.bin"]


async def test_a_client_failure_is_retried_while_attempts_last_then_failed(
    clients: Clients,
) -> None:
    job = await clients.held("judging")
    clients.set_item(job, status=Status.FAILED, message="tracker unreachable")
    await clients.external.monitor()
    seen = clients.seen(job)
    assert seen.status is Status.QUEUED and seen.retry_at is not None
    assert seen.error == "judging: tracker unreachable"
    assert clients.history(job)[-1] == "retry_scheduled"
    # the retry is due: admitted again, handed over afresh, and it fails once more
    later = utcnow() + timedelta(hours=1)
    await clients.jobs.admission(lambda t: t.admit_waiting(Limits(10), now=later))
    await clients.dispatch()
    assert clients.seen(job).status is Status.DOWNLOADING
    clients.set_item(job, status=Status.FAILED, message="tracker unreachable")
    await clients.external.monitor()
    seen = clients.seen(job)
    assert seen.status is Status.FAILED
    assert seen.error == "judging: tracker unreachable"
    assert clients.history(job)[-1] == "failed"


async def test_a_failure_the_client_does_not_judge_fails_at_once(clients: Clients) -> None:
    job = await clients.held("qbit")
    clients.set_item(job, status=Status.FAILED, message=None)
    await clients.external.monitor()
    seen = clients.seen(job)
    assert seen.status is Status.FAILED
    assert seen.error == "qbit: the client reported an error"


async def test_an_item_the_client_no_longer_has_is_missing_and_kept(clients: Clients) -> None:
    job = await clients.held("qbit")
    del clients.clients["qbit"].store[str(job.client_ref)]
    assert await clients.external.monitor() == 0
    seen = clients.seen(job)
    assert seen.status is Status.MISSING
    assert seen.message == "qbit no longer has this download"
    assert clients.history(job) == ["handed_over"]  # nothing recorded, nothing deleted


async def test_a_pause_is_reapplied_when_the_client_resumes_on_its_own(
    clients: Clients,
) -> None:
    job = await clients.held("qbit")
    job.desired_paused, job.phase = True, "queued"  # paused by its owner: no slot held
    await clients.external.monitor()
    item = clients.item(job)
    assert item is not None and item.status is Status.PAUSED
    assert clients.seen(job).status is Status.PAUSED
    await clients.clients["qbit"].resume(item.ref)  # the client's own doing
    await clients.external.monitor()
    item = clients.item(job)
    assert item is not None and item.status is Status.PAUSED


async def test_a_resume_owed_is_made_once(clients: Clients) -> None:
    job = await clients.held("qbit")
    await clients.clients["qbit"].pause(str(job.client_ref))
    job.meta = {**job.meta, "resume_owed": True}
    await clients.external.monitor()
    assert clients.seen(job).status is Status.DOWNLOADING
    calls = clients.clients["qbit"].calls
    await clients.external.monitor()
    assert calls.count("resume") == 1


async def test_an_owed_removal_is_made_when_the_client_is_back(clients: Clients) -> None:
    job = await clients.held("qbit")
    job.phase, job.canceled_at, job.cancel_delete_partial = "canceled", utcnow(), True
    fake = clients.clients["qbit"]
    fake.down = "connection refused"
    await clients.external.monitor()
    assert clients.item(job) is not None  # still there: owed
    fake.down = None
    clients.clock.now += 60  # past the directory's backoff
    assert await clients.external.monitor() == 1
    assert clients.item(job) is None
    assert "remove(delete_data=True)" in fake.calls  # saved inside the download root
    assert await clients.external.monitor() == 0  # carried out: owed no more
    assert [c for c in fake.calls if c.startswith("remove")] == ["remove(delete_data=True)"]


async def test_a_finished_item_leaves_a_client_that_removes_them(clients: Clients) -> None:
    job = await clients.held("seeder")
    job.phase = "completed"
    assert await clients.external.monitor() == 1
    assert clients.item(job) is None
    assert "remove(delete_data=False)" in clients.clients["seeder"].calls  # the files stay
    assert clients.history(job)[-1] == "released"


async def test_a_client_that_cannot_be_reached_changes_nothing(clients: Clients) -> None:
    job = await clients.held("qbit")
    clients.clients["qbit"].advance(str(job.client_ref), 10_000)
    clients.clients["qbit"].down = "connection refused"
    assert await clients.external.monitor() == 0
    assert job.phase == "active"
    assert clients.history(job) == ["handed_over"]


def schedule_lines(clients: Clients, job: StoredJob) -> list[str | None]:
    """What the download's history says of the speed schedule."""
    return [
        e.message for e in clients.state.events if e.download_id == job.id and e.kind == "schedule"
    ]


async def test_a_pause_window_pauses_the_item_once_and_its_end_resumes_it(
    clients: Clients,
) -> None:
    job = await clients.held("qbit")
    monitor = clients.external.monitoring
    await clients.external.monitor()
    assert [row.id for row in monitor.running] == [job.id]  # moving: shares the limits
    monitor.hold = True
    await clients.external.monitor()
    item = clients.item(job)
    assert item is not None and item.status is Status.PAUSED
    assert job.meta.get(HELD_MARK) is True
    seen = clients.seen(job)
    assert (seen.status, seen.message) == (Status.QUEUED, HELD_MESSAGE)
    assert monitor.running == []
    await clients.external.monitor()
    assert clients.clients["qbit"].calls.count("pause") == 1
    assert schedule_lines(clients, job) == ["Paused by the speed schedule."]
    monitor.hold = False
    await clients.external.monitor()
    item = clients.item(job)
    assert item is not None and item.status is Status.DOWNLOADING
    assert HELD_MARK not in job.meta
    await clients.external.monitor()
    assert schedule_lines(clients, job) == [
        "Paused by the speed schedule.",
        "The speed schedule's pause ended: resumed.",
    ]


async def test_an_owners_pause_in_a_window_outlasts_it(clients: Clients) -> None:
    job = await clients.held("qbit")
    clients.external.monitoring.hold = True
    await clients.external.monitor()
    job.desired_paused, job.phase = True, "queued"  # its owner pauses it meanwhile
    await clients.external.monitor()
    assert HELD_MARK not in job.meta
    assert schedule_lines(clients, job)[-1] == (
        "Paused by its owner while the speed schedule held it."
    )
    clients.external.monitoring.hold = False
    await clients.external.monitor()
    item = clients.item(job)
    assert item is not None and item.status is Status.PAUSED  # the owner's pause stands
    assert clients.seen(job).status is Status.PAUSED


async def test_an_item_that_finished_as_the_window_paused_it_is_taken_up(
    clients: Clients,
) -> None:
    job = await clients.held("qbit")
    job.meta = {**job.meta, HELD_MARK: True}  # marked, and the client says it is done
    clients.set_item(job, status=Status.COMPLETED, downloaded_bytes=1000)
    await clients.external.monitor()
    assert HELD_MARK not in job.meta
    assert clients.seen(job).status is Status.PROCESSING
    assert schedule_lines(clients, job) == ["Finished as the schedule paused it."]
