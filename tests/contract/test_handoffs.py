"""What the external-client monitor reads and writes, the same in memory, on SQLite and on
PostgreSQL."""

from __future__ import annotations

from haul.core.status import Phase
from haul.store.jobs import WorkerInfo
from haul.store.models import utcnow
from tests.contract.conftest import Harness


async def held(
    h: Harness, phase: Phase = Phase.ACTIVE, client: str = "aria", **fields: object
) -> int:
    job = await h.add("a", phase=phase.value, client=client, **fields)
    await h.set(job, client_ref=f"ref-{job}")
    return job


async def test_the_monitor_watches_what_clients_hold(harness: Harness) -> None:
    active = await held(harness)
    paused = await held(harness, Phase.QUEUED, desired_paused=True)
    await held(harness, Phase.QUEUED)  # queued, not paused: not on the client yet
    canceled = await held(harness, Phase.CANCELED, canceled_at=utcnow())
    await held(harness, Phase.CANCELED, canceled_at=utcnow(), client_released_at=utcnow())
    seeded = await held(harness, Phase.COMPLETED, client="qbit")
    await held(harness, Phase.COMPLETED)  # aria does not remove finished items
    await held(harness, client="builtin")
    owed = await held(harness, meta={"resume_owed": True})
    found = {w.id: w for w in await harness.handoffs.watched(["qbit"])}
    assert set(found) == {active, paused, canceled, seeded, owed}
    assert found[active].client == "aria" and found[active].client_ref == f"ref-{active}"
    assert found[paused].desired_paused and not found[active].desired_paused
    assert found[owed].resume_owed and not found[active].resume_owed


async def test_released_items_are_watched_no_more(harness: Harness) -> None:
    canceled = await held(harness, Phase.CANCELED, canceled_at=utcnow())
    seeded = await held(harness, Phase.COMPLETED, client="qbit")
    await harness.handoffs.released(canceled)
    await harness.handoffs.released(seeded, "removed from qbit; the files stay")
    assert await harness.handoffs.watched(["qbit"]) == []
    assert await harness.history(canceled) == []
    assert await harness.history(seeded) == ["released"]


async def test_a_resume_made_is_owed_no_more(harness: Harness) -> None:
    job = await held(harness, meta={"resume_owed": True, "kept": 1})
    await harness.handoffs.resumed(job)
    assert await harness.get(job, "meta") == {"kept": 1}
    row = await harness.handoffs.load(job)
    assert row is not None and row.meta == {"kept": 1} and row.client == "aria"
    assert await harness.handoffs.load(999) is None


async def test_a_finish_on_the_client_is_recorded_unless_canceled(harness: Harness) -> None:
    await harness.store.register_worker(WorkerInfo("w", "h", 1))
    job = await held(harness, last_error_code="x")
    files = [{"path": "a", "name": "a", "size": 1, "mtime": None}]
    at = utcnow()
    assert await harness.handoffs.client_finished(
        job, "w", at, files, "T", "aria finished it", True
    )
    assert await harness.get(job, "phase") == Phase.PROCESSING.value
    assert await harness.get(job, "lease_worker_id") == "w"
    assert await harness.get(job, "files") == files
    assert await harness.get(job, "last_error_code") is None
    assert await harness.history(job) == ["downloaded"]
    canceled = await held(harness, canceled_at=utcnow())
    assert not await harness.handoffs.client_finished(canceled, "w", at, files, "T", "", False)
    assert await harness.get(canceled, "phase") == Phase.ACTIVE.value
