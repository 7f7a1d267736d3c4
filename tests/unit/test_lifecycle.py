"""The lifecycle's transition table, edge by edge, and what each command writes."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from haul.core import lifecycle
from haul.core.lifecycle import EDGES, TRANSITIONS, Change, Command, Edge, Snapshot
from haul.core.status import Phase
from haul.errors import Conflict, InvalidTransition

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
DOC = Path(__file__).resolve().parents[2] / "docs" / "lifecycle.md"

#: Each command with the arguments it needs; ``missing`` is the one condition read elsewhere.
CALLS: dict[Command, Callable[[Snapshot, bool], Change]] = {
    Command.PAUSE: lambda s, _: lifecycle.pause(s),
    Command.RESUME: lambda s, _: lifecycle.resume(s),
    Command.RETRY: lambda s, missing: lifecycle.retry(s, missing=missing),
    Command.CANCEL: lambda s, _: lifecycle.cancel(s, at=NOW),
    Command.STOP: lambda s, _: lifecycle.stop(s),
    Command.ADMIT: lambda s, _: lifecycle.admit(s, at=NOW),
    Command.CLAIM: lambda s, _: lifecycle.claim(s, worker="w1", at=NOW),
    Command.HAND_OVER: lambda s, _: lifecycle.hand_over(s, client="qb", ref="abc", at=NOW),
    Command.EXPAND: lambda s, _: lifecycle.expand(s),
    Command.PARK: lambda s, _: lifecycle.park(s),
    Command.REQUEUE: lambda s, _: lifecycle.requeue(s, retry_at=NOW, code="e", message="m"),
    Command.FAIL: lambda s, _: lifecycle.fail(s, at=NOW, code="e", message="m"),
    Command.FINISH: lambda s, _: lifecycle.finish(s, at=NOW),
    Command.COMPLETE: lambda s, _: lifecycle.complete(s, at=NOW),
    Command.REPROCESS: lambda s, _: lifecycle.reprocess(s),
    Command.DEFER_REMOVAL: lambda s, _: lifecycle.defer_removal(s, delete_files=True),
}


def variants(phase: Phase) -> Iterator[tuple[Snapshot, bool]]:
    """Every combination of the fields a decision reads, in ``phase``."""
    for paused, leased, client, due, missing, live in itertools.product(
        (False, True),
        (False, True),
        (None, "builtin", "qb"),
        (None, NOW),
        (False, True),
        (False, True),
    ):
        ref = None if client is None else "7"
        snap = Snapshot(
            7,
            phase,
            desired_paused=paused,
            leased=leased,
            client=client,
            client_ref=ref,
            retry_next_at=due,
            live=live,
        )
        yield snap, missing


def outcome(command: Command, snap: Snapshot, missing: bool) -> Phase | None:
    """The phase ``command`` leads to (None: refused)."""
    try:
        change = CALLS[command](snap, missing)
    except InvalidTransition:
        return None
    return change.phase or snap.phase


def test_every_command_is_callable_here() -> None:
    assert set(CALLS) == set(Command)


def test_the_doc_shows_the_table() -> None:
    text = DOC.read_text()
    start = text.index("<!-- transitions -->\n") + len("<!-- transitions -->\n")
    end = text.index("<!-- /transitions -->")
    assert text[start:end] == lifecycle.markdown_table()


@pytest.mark.parametrize("edge", EDGES, ids=lambda e: f"{e.command}:{e.source}->{e.target}")
def test_every_edge_is_taken(edge: Edge) -> None:
    reached = {outcome(edge.command, snap, m) for snap, m in variants(edge.source)}
    assert edge.target in reached


@pytest.mark.parametrize(
    ("command", "phase"), list(itertools.product(Command, Phase)), ids=lambda v: str(v)
)
def test_a_command_goes_only_where_the_table_says(command: Command, phase: Phase) -> None:
    targets = TRANSITIONS[command].get(phase, frozenset())
    for snap, missing in variants(phase):
        reached = outcome(command, snap, missing)
        assert reached is None or reached in targets, (snap, missing, reached)
    assert lifecycle.allowed(command, phase) == bool(targets)
    if not targets:
        with pytest.raises(InvalidTransition):
            CALLS[command](Snapshot(7, phase), True)


def test_a_refusal_is_a_conflict_that_names_the_download() -> None:
    with pytest.raises(Conflict, match=r"^Download 7 is completed; admit does not apply\.$"):
        lifecycle.admit(Snapshot(7, Phase.COMPLETED), at=NOW)


# -- what people ask ------------------------------------------------------------------------


@pytest.mark.parametrize("phase", [Phase.COMPLETED, Phase.FAILED, Phase.CANCELED, Phase.PARENT])
@pytest.mark.parametrize(
    ("command", "verb"), [(lifecycle.pause, "paused"), (lifecycle.resume, "resumed")]
)
def test_only_unfinished_downloads_pause_or_resume(
    phase: Phase, command: Callable[[Snapshot], Change], verb: str
) -> None:
    with pytest.raises(InvalidTransition) as caught:
        command(Snapshot(3, phase))
    assert caught.value.message == (
        f"Download 3 is {phase}; only unfinished downloads can be {verb}."
    )


def test_pause_records_the_wish_once() -> None:
    change = lifecycle.pause(Snapshot(1, Phase.QUEUED))
    assert change == Change({"desired_paused": True}, "pause_requested")
    assert lifecycle.pause(Snapshot(1, Phase.QUEUED, desired_paused=True)) == lifecycle.NOTHING


@pytest.mark.parametrize(
    ("snap", "phase"),
    [
        (Snapshot(1, Phase.ADMITTED), Phase.QUEUED),
        (Snapshot(1, Phase.ADMITTED, leased=True), None),
        (Snapshot(1, Phase.ACTIVE, client="qb", client_ref="x"), Phase.QUEUED),
        (Snapshot(1, Phase.ACTIVE, client="qb"), None),
        (Snapshot(1, Phase.ACTIVE, client="builtin", client_ref="1", leased=True), None),
        (Snapshot(1, Phase.PROCESSING), None),
    ],
)
def test_pause_gives_back_a_slot_held_only_to_wait(snap: Snapshot, phase: Phase | None) -> None:
    assert lifecycle.pause(snap).phase == phase


def test_resume_puts_a_queued_download_at_the_front() -> None:
    queued = lifecycle.resume(Snapshot(1, Phase.QUEUED, desired_paused=True))
    assert queued == Change({"desired_paused": False}, "resume_requested", rank="front")
    active = lifecycle.resume(Snapshot(1, Phase.ACTIVE, desired_paused=True))
    assert active.rank is None and active.event == "resume_requested"
    assert lifecycle.resume(Snapshot(1, Phase.QUEUED)) == lifecycle.NOTHING


@pytest.mark.parametrize(
    ("snap", "missing"),
    [
        (Snapshot(2, Phase.FAILED), False),
        (Snapshot(2, Phase.CANCELED), False),
        (Snapshot(2, Phase.QUEUED, retry_next_at=NOW), False),
        (Snapshot(2, Phase.ACTIVE), True),
    ],
)
def test_retry_starts_again_from_scratch(snap: Snapshot, missing: bool) -> None:
    change = lifecycle.retry(snap, missing=missing)
    assert change.phase is Phase.QUEUED
    assert change.event == "retry_requested" and change.rank == "back"
    assert change.forget == frozenset({"resolved", "stop_requested"})
    updates: dict[str, Any] = dict(change.updates)
    assert updates.pop("retry_attempt") == 0 and updates.pop("desired_paused") is False
    assert updates.pop("phase") == "queued"
    assert set(updates.values()) == {None}


@pytest.mark.parametrize(
    ("snap", "missing"),
    [
        (Snapshot(2, Phase.QUEUED), True),
        (Snapshot(2, Phase.ACTIVE), False),
        (Snapshot(2, Phase.ADMITTED), True),
        (Snapshot(2, Phase.COMPLETED), True),
        (Snapshot(2, Phase.PARENT), True),
    ],
)
def test_retry_refuses_what_is_neither_stopped_nor_missing(snap: Snapshot, missing: bool) -> None:
    with pytest.raises(InvalidTransition) as caught:
        lifecycle.retry(snap, missing=missing)
    assert caught.value.message == (
        f"Download 2 is {snap.phase}; only failed, canceled or missing downloads can be retried."
    )


def test_cancel_says_whether_files_go() -> None:
    change = lifecycle.cancel(Snapshot(4, Phase.PARENT), at=NOW, delete_files=True)
    assert change.updates == {
        "phase": "canceled",
        "canceled_at": NOW,
        "cancel_delete_partial": True,
    }
    assert (change.event, change.event_data) == ("canceled", {"delete_files": True})


# -- what haul does -------------------------------------------------------------------------


def test_admit_takes_a_slot() -> None:
    change = lifecycle.admit(Snapshot(1, Phase.QUEUED), at=NOW)
    assert change == Change({"phase": "admitted", "admitted_at": NOW}, "admitted")


def test_claim_starts_or_resumes() -> None:
    first = lifecycle.claim(Snapshot(5, Phase.ADMITTED), worker="w", at=NOW, engine="http")
    assert first.updates == {
        "lease_worker_id": "w",
        "phase": "active",
        "client": "builtin",
        "client_ref": "5",
        "started_at": NOW,
    }
    assert (first.event, first.event_data) == ("started", {"engine": "http"})
    again = lifecycle.claim(Snapshot(5, Phase.ACTIVE, started=True), worker="w", at=NOW)
    assert "started_at" not in again.updates and again.event == "resumed"


def test_hand_over_keeps_a_paused_download_out_of_its_slot() -> None:
    handed = lifecycle.hand_over(Snapshot(1, Phase.ADMITTED), client="qb", ref="h", at=NOW)
    assert handed.phase is Phase.ACTIVE and handed.event == "handed_over"
    assert handed.updates["client_ref"] == "h" and handed.updates["lease_worker_id"] is None
    paused = Snapshot(1, Phase.ADMITTED, desired_paused=True, started=True)
    again = lifecycle.hand_over(paused, client="qb", ref="h", at=NOW)
    assert again.phase is Phase.QUEUED and again.event == "resumed"


def test_expand_makes_a_parent_that_holds_no_lease() -> None:
    change = lifecycle.expand(Snapshot(1, Phase.ACTIVE, leased=True), entries=3)
    assert change == Change(
        {"phase": "parent", "lease_worker_id": None},
        "expanded",
        message="Playlist with 3 entries",
    )


def test_park_spends_no_attempt() -> None:
    paused = lifecycle.park(Snapshot(1, Phase.ACTIVE, retry_attempt=2))
    assert paused == Change({"phase": "queued", "lease_worker_id": None}, "paused")
    waiting = lifecycle.park(
        Snapshot(1, Phase.ACTIVE), retry_at=NOW, code="disk_full", message="1 MB free"
    )
    assert (waiting.event, waiting.event_data, waiting.message) == (
        "waiting_for_space",
        {"code": "disk_full"},
        "1 MB free",
    )
    assert waiting.updates["retry_next_at"] == NOW
    assert waiting.updates["last_error_code"] == "disk_full"
    assert waiting.updates["last_error_message"] == "1 MB free"
    assert "retry_attempt" not in waiting.updates


def test_a_wait_for_space_is_told_once() -> None:
    snap = Snapshot(1, Phase.ACTIVE, last_error_code="disk_full")
    again = lifecycle.park(snap, retry_at=NOW, code="disk_full", message="2 MB free")
    assert again.event is None and again.phase is Phase.QUEUED
    assert again.updates["last_error_message"] == "2 MB free"


@pytest.mark.parametrize(
    "command",
    [
        Command.ADMIT,
        Command.CLAIM,
        Command.HAND_OVER,
        Command.EXPAND,
        Command.PARK,
        Command.REQUEUE,
        Command.FAIL,
        Command.FINISH,
        Command.COMPLETE,
    ],
)
def test_a_download_canceled_meanwhile_takes_none_of_hauls_steps(command: Command) -> None:
    phase = next(iter(TRANSITIONS[command]))
    CALLS[command](Snapshot(1, phase), False)  # taken when not canceled
    with pytest.raises(InvalidTransition) as caught:
        CALLS[command](Snapshot(1, phase, canceled=True), False)
    assert caught.value.message == (
        f"Download 1 is {phase}; it was canceled: {command} does not apply."
    )


def test_requeue_spends_an_attempt() -> None:
    snap = Snapshot(1, Phase.ACTIVE, retry_attempt=2)
    change = lifecycle.requeue(snap, retry_at=NOW, code="timeout", message="slow")
    assert change.updates["retry_attempt"] == 3 and change.updates["retry_next_at"] == NOW
    assert (change.event, change.event_data, change.message) == (
        "retry_scheduled",
        {"code": "timeout", "attempt": 3},
        "slow",
    )
    told = lifecycle.requeue(snap, retry_at=NOW, code="timeout", message="slow", delay=29.96)
    assert told.event_data == {"code": "timeout", "attempt": 3, "delay": 30.0}


def test_fail_records_the_error() -> None:
    change = lifecycle.fail(Snapshot(1, Phase.ADMITTED), at=NOW, code="gone", message="404")
    assert change.phase is Phase.FAILED and change.updates["failed_at"] == NOW
    assert change.updates["last_error_message"] == "404" and change.event == "failed"
    assert (change.event_data, change.message) == ({"code": "gone"}, "404")


def test_finish_then_complete() -> None:
    finished = lifecycle.finish(Snapshot(1, Phase.ACTIVE), at=NOW)
    assert finished.phase is Phase.PROCESSING and finished.updates["completed_at"] == NOW
    assert finished.updates["lease_worker_id"] is None and finished.updates["retry_next_at"] is None
    held = lifecycle.finish(Snapshot(1, Phase.ACTIVE), at=NOW, files=2, worker="w")
    assert held.updates["lease_worker_id"] == "w"
    assert (held.event, held.event_data) == ("downloaded", {"files": 2})
    filed = lifecycle.complete(Snapshot(1, Phase.PROCESSING), at=NOW, files=2)
    assert (filed.event, filed.event_data) == ("completed", {"files": 2})
    done = lifecycle.complete(Snapshot(1, Phase.PROCESSING), at=NOW)
    assert done == Change({"phase": "completed", "lease_worker_id": None}, "completed")
    direct = lifecycle.complete(Snapshot(1, Phase.ACTIVE), at=NOW)
    assert direct.updates["completed_at"] == NOW


def test_reprocess_hands_a_finished_download_back() -> None:
    change = lifecycle.reprocess(Snapshot(1, Phase.COMPLETED, leased=True))
    assert change == Change({"phase": "processing", "lease_worker_id": None}, "reprocess")
    assert lifecycle.reprocess(Snapshot(1, Phase.COMPLETED), why="asked").message == "asked"


def test_a_removal_owed_by_a_finished_download_is_recorded_without_history() -> None:
    change = lifecycle.defer_removal(Snapshot(1, Phase.COMPLETED), delete_files=False)
    assert change == Change({"phase": "canceled", "cancel_delete_partial": False})


# -- live recordings ------------------------------------------------------------------------


def test_stop_ends_a_live_recording_once() -> None:
    snap = Snapshot(4, Phase.ACTIVE, client="builtin", client_ref="4", live=True)
    change = lifecycle.stop(snap)
    assert change.phase is None and change.event == "stop_requested"
    assert change.remember == {"stop_requested": True}
    again = Snapshot(4, Phase.ACTIVE, live=True, stop_requested=True)
    assert lifecycle.stop(again) is lifecycle.NOTHING


@pytest.mark.parametrize("phase", [Phase.ACTIVE, Phase.COMPLETED])
def test_stop_refuses_what_is_not_a_live_recording(phase: Phase) -> None:
    with pytest.raises(InvalidTransition, match="not recording a live stream"):
        lifecycle.stop(Snapshot(5, phase, live=phase is not Phase.ACTIVE, resolved=True))


@pytest.mark.parametrize("phase", [Phase.QUEUED, Phase.ACTIVE])
def test_stop_before_the_source_is_known_says_to_cancel_or_wait(phase: Phase) -> None:
    with pytest.raises(InvalidTransition) as refused:
        lifecycle.stop(Snapshot(21, phase))
    assert str(refused.value).startswith(
        "Download 21 has not started recording yet: cancel it instead, or stop it once it records"
    )


def test_stop_of_a_waiting_download_known_to_be_live_is_taken() -> None:
    snap = Snapshot(22, Phase.QUEUED, live=True, resolved=True)
    assert lifecycle.stop(snap).remember == {"stop_requested": True}


def test_a_live_recording_cannot_be_paused() -> None:
    with pytest.raises(InvalidTransition, match=r"cannot be paused.*stop the recording"):
        lifecycle.pause(Snapshot(6, Phase.ACTIVE, live=True))
