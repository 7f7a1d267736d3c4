"""What the hand-over to external clients and their monitor read and write, the same in
memory, on SQLite and on PostgreSQL."""

from __future__ import annotations

from haul.core.status import Phase
from haul.store.jobs import Handed, Handover, WorkerInfo
from haul.store.models import Download, utcnow
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
    assert found[active].owner_key == "a" and found[active].speed_limit is None


async def test_what_each_item_keeps_to_is_watched(harness: Harness) -> None:
    limited = await held(harness, speed_limit=250_000)
    found = {w.id: w for w in await harness.handoffs.watched([])}
    assert found[limited].speed_limit == 250_000 and not found[limited].held


async def test_a_pause_of_the_schedule_is_marked_and_unmarked_with_history(
    harness: Harness,
) -> None:
    job = await held(harness, meta={"kept": 1})
    assert await harness.handoffs.schedule_held(job, True, "Paused by the speed schedule.")
    assert not await harness.handoffs.schedule_held(job, True, "again")  # marked already
    assert (await harness.handoffs.watched([]))[0].held
    assert await harness.get(job, "meta") == {"kept": 1, "schedule_held": True}
    assert await harness.handoffs.schedule_held(job, False, "The speed schedule's pause ended.")
    assert not await harness.handoffs.schedule_held(job, False, "again")  # another worker's
    assert not (await harness.handoffs.watched([]))[0].held
    assert await harness.get(job, "meta") == {"kept": 1}
    assert await harness.history(job) == ["schedule", "schedule"]
    assert not await harness.handoffs.schedule_held(999, True, "gone")


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


# -- hand over ------------------------------------------------------------------------------


async def admitted(h: Harness, client: str = "aria", **fields: object) -> int:
    at = fields.pop("admitted_at", utcnow())
    return await h.add("a", phase=Phase.ADMITTED.value, client=client, admitted_at=at, **fields)


def never(row: object) -> str | None:
    return None


async def test_a_claim_leases_what_each_client_has_room_for(harness: Harness) -> None:
    await harness.store.register_worker(WorkerInfo("w", "h", 1))
    await harness.store.register_worker(WorkerInfo("other", "h", 2))
    await held(harness, client="aria")  # busy on aria: one of its two slots
    first = await admitted(harness, "aria")
    await admitted(harness, "aria")  # no room left on aria
    free = await admitted(harness, "qbit")
    gone = await admitted(harness, "removed")  # its client is not configured: leased too
    await admitted(harness, "qbit", desired_paused=True)
    await admitted(harness, "qbit", canceled_at=utcnow())
    await admitted(harness, "qbit", lease_worker_id="other")
    await admitted(harness, "builtin")
    rows = await harness.handoffs.claim_handoffs("w", {"aria": 2, "qbit": None}, (), never)
    assert sorted(row.id for row in rows) == [first, free, gone]
    assert [await harness.get(row.id, "lease_worker_id") for row in rows] == ["w"] * 3
    # leased rows are not taken again (aria is full with its one slot)
    again = await harness.handoffs.claim_handoffs("w", {"aria": 1, "qbit": None}, (), never)
    assert again == []


async def test_a_client_that_is_down_gets_nothing_and_a_torrent_moves_on(
    harness: Harness,
) -> None:
    await harness.store.register_worker(WorkerInfo("w", "h", 1))
    stays = await admitted(harness, "qbit")
    moves = await admitted(harness, "qbit", source_url="magnet:?xt=urn:btih:" + "a" * 40)

    def instead(row: Download) -> str | None:
        return "trans" if row.source_url.startswith("magnet:") else None

    caps: dict[str, int | None] = {"qbit": None, "trans": 1}
    rows = await harness.handoffs.claim_handoffs("w", caps, {"qbit"}, instead)
    assert [(row.id, row.client) for row in rows] == [(moves, "trans")]
    assert await harness.get(moves, "client") == "trans"
    assert await harness.history(moves) == ["rerouted"]
    assert await harness.get(stays, "lease_worker_id") is None


async def test_a_lease_is_given_back_only_by_its_holder(harness: Harness) -> None:
    await harness.store.register_worker(WorkerInfo("w", "h", 1))
    job = await admitted(harness, lease_worker_id="w")
    await harness.handoffs.give_back(job, "someone-else")
    assert await harness.get(job, "lease_worker_id") == "w"
    await harness.handoffs.give_back(job, "w")
    assert await harness.get(job, "lease_worker_id") is None


async def test_a_download_no_client_takes_goes_to_the_builtin_engine(harness: Harness) -> None:
    await harness.store.register_worker(WorkerInfo("w", "h", 1))
    job = await admitted(harness, lease_worker_id="w")
    await harness.handoffs.to_builtin(job)
    assert await harness.get(job, "client") is None
    assert await harness.get(job, "lease_worker_id") is None
    await harness.handoffs.keep_meta(job, {"handing": {"client": "qbit", "ref": "x"}})
    assert await harness.get(job, "meta") == {"handing": {"client": "qbit", "ref": "x"}}


async def test_a_hand_over_is_recorded(harness: Harness) -> None:
    await harness.store.register_worker(WorkerInfo("w", "h", 1))
    job = await admitted(harness, lease_worker_id="w")
    at = utcnow()
    handed = await harness.handoffs.handed_over(
        Handover(job, "qbit", "hash", at, {"kept": 1}, b"d4:infoe")
    )
    assert handed == Handed(Phase.ACTIVE.value)
    assert await harness.get(job, "client") == "qbit"
    assert await harness.get(job, "client_ref") == "hash"
    assert await harness.get(job, "lease_worker_id") is None
    assert await harness.get(job, "meta") == {"kept": 1}
    assert await harness.get(job, "source_blob") == b"d4:infoe"
    assert await harness.history(job) == ["handed_over"]
    row = await harness.handoffs.load(job)
    assert row is not None and row.started_at is not None


async def test_a_pause_or_a_cancel_during_the_hand_over_wins(harness: Harness) -> None:
    paused = await admitted(harness, desired_paused=True)
    canceled = await admitted(harness, canceled_at=utcnow())
    await harness.set(canceled, phase=Phase.CANCELED.value)
    at = utcnow()
    assert await harness.handoffs.handed_over(Handover(paused, "aria", "p", at, {})) == Handed(
        Phase.QUEUED.value
    )
    resumed = Handover(canceled, "aria", "c", at, {}, resumed=True)
    assert await harness.handoffs.handed_over(resumed) == Handed(Phase.CANCELED.value)
    assert await harness.get(canceled, "client_ref") == "c"  # the monitor removes it
    assert await harness.history(canceled) == ["resumed"]


async def test_one_item_on_a_client_belongs_to_one_download(harness: Harness) -> None:
    active = await held(harness, client="qbit")
    job = await admitted(harness)
    at = utcnow()
    taken = await harness.handoffs.handed_over(Handover(job, "qbit", f"ref-{active}", at, {}))
    assert taken == Handed(None, active)
    assert await harness.get(job, "phase") == Phase.ADMITTED.value
    assert await harness.history(job) == []
    done = await held(harness, Phase.COMPLETED, client="qbit")
    again = await harness.handoffs.handed_over(Handover(job, "qbit", f"ref-{done}", at, {}))
    assert again == Handed(Phase.ACTIVE.value)
    assert await harness.get(done, "client_ref") is None  # given up to the new download
    assert await harness.get(done, "client_released_at") is not None
