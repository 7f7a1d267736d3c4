"""Every native torrent-client state, row by row (DESIGN.md section 3)."""

from __future__ import annotations

import logging

import pytest

from haul.clients.qbittorrent.mapping import STATES, map_state
from haul.clients.transmission.mapping import map_status
from haul.core.status import Status

QBITTORRENT = [
    ("downloading", Status.DOWNLOADING),
    ("stalledDL", Status.DOWNLOADING),
    ("metaDL", Status.DOWNLOADING),
    ("forcedMetaDL", Status.DOWNLOADING),
    ("forcedDL", Status.DOWNLOADING),
    ("allocating", Status.DOWNLOADING),
    ("queuedDL", Status.QUEUED),
    ("checkingDL", Status.CHECKING),
    ("checkingUP", Status.CHECKING),
    ("checkingResumeData", Status.CHECKING),
    ("pausedDL", Status.PAUSED),
    ("stoppedDL", Status.PAUSED),
    ("pausedUP", Status.COMPLETED),
    ("stoppedUP", Status.COMPLETED),
    ("uploading", Status.SEEDING),
    ("stalledUP", Status.SEEDING),
    ("forcedUP", Status.SEEDING),
    ("queuedUP", Status.SEEDING),
    ("moving", Status.PROCESSING),
    ("error", Status.FAILED),
    ("missingFiles", Status.FAILED),
    ("unknown", Status.UNKNOWN),
]


@pytest.mark.parametrize(("state", "status"), QBITTORRENT)
def test_qbittorrent_state(state: str, status: Status) -> None:
    assert map_state(state)[0] is status


def test_qbittorrent_table_is_exactly_the_known_states() -> None:
    assert set(STATES) == {state for state, _ in QBITTORRENT}


def test_qbittorrent_stalled_is_a_warning_on_a_live_item() -> None:
    status, message = map_state("stalledDL")
    assert status is Status.DOWNLOADING and message is not None and "stalled" in message


def test_qbittorrent_unknown_state_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        first = map_state("brandNewState")
        map_state("brandNewState")
    assert first == (Status.UNKNOWN, "unknown qBittorrent state 'brandNewState'")
    assert len([r for r in caplog.records if "brandNewState" in r.getMessage()]) == 1


TRANSMISSION = [
    (0, False, Status.PAUSED),
    (0, True, Status.COMPLETED),
    (1, False, Status.CHECKING),
    (2, False, Status.CHECKING),
    (3, False, Status.QUEUED),
    (4, False, Status.DOWNLOADING),
    (5, True, Status.SEEDING),
    (6, True, Status.SEEDING),
]


@pytest.mark.parametrize(("status", "done", "expected"), TRANSMISSION)
def test_transmission_status(status: int, done: bool, expected: Status) -> None:
    assert map_status(status, done=done)[0] is expected


@pytest.mark.parametrize(("error", "words"), [(1, "tracker warning"), (2, "tracker error")])
def test_transmission_tracker_trouble_is_a_message_on_a_live_item(error: int, words: str) -> None:
    status, message = map_status(4, done=False, error=error, error_string="timed out")
    assert status is Status.DOWNLOADING
    assert message == f"{words}: timed out"


def test_transmission_local_error_fails() -> None:
    status, message = map_status(0, done=False, error=3, error_string="No space left on device")
    assert (status, message) == (Status.FAILED, "No space left on device")


def test_transmission_unknown_status_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        first = map_status(42, done=False)
        map_status(42, done=False)
    assert first[0] is Status.UNKNOWN
    assert len([r for r in caplog.records if "42" in r.getMessage()]) == 1
