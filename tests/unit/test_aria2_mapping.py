"""The aria2 status table, row by row, and the item fields built from aria2's raw dicts."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from haul.clients.aria2 import mapping
from haul.clients.aria2.client import gid_for
from haul.clients.aria2.mapping import (
    RETRYABLE_ERROR_CODES,
    STATUS_TABLE,
    is_retryable,
    map_status,
    to_item,
)
from haul.core.status import Status


def raw(status: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "gid": "00000000000000a1",
        "status": status,
        "totalLength": "1000",
        "completedLength": "250",
        "downloadSpeed": "50",
        "errorCode": "0",
        "dir": "/data/dl",
        "files": [
            {
                "index": "1",
                "path": "/data/dl/movie.mkv",
                "length": "1000",
                "completedLength": "250",
                "selected": "true",
                "uris": [{"uri": "http://example.test/movie.mkv", "status": "used"}],
            }
        ],
    }
    base.update(fields)
    return base


@pytest.mark.parametrize(
    ("native", "expected"),
    [
        ("active", Status.DOWNLOADING),
        ("waiting", Status.QUEUED),
        ("paused", Status.PAUSED),
        ("error", Status.FAILED),
        ("complete", Status.COMPLETED),
        ("removed", Status.CANCELED),
    ],
)
def test_every_native_state_has_a_row(native: str, expected: Status) -> None:
    assert STATUS_TABLE[native] is expected
    assert to_item(raw(native)).status is expected


def test_the_table_covers_exactly_arias_six_states() -> None:
    assert set(STATUS_TABLE) == {"active", "waiting", "paused", "error", "complete", "removed"}


def test_an_active_seeder_is_seeding() -> None:
    assert map_status(raw("active", seeder="true")) is Status.SEEDING
    assert map_status(raw("active", seeder="false")) is Status.DOWNLOADING
    assert map_status(raw("complete", seeder="true")) is Status.COMPLETED


def test_an_error_is_a_failed_transfer_with_arias_reason() -> None:
    item = to_item(
        raw("error", errorCode="3", errorMessage="Resource not found", downloadSpeed="0")
    )
    assert item.status is Status.FAILED
    assert item.message == "Resource not found (aria2 error 3)"
    assert to_item(raw("error", errorCode="6")).message == "aria2 error 6"
    assert to_item(raw("error", errorCode="0")).message == "aria2 reported an error"


def test_no_message_on_a_healthy_item() -> None:
    assert to_item(raw("active", errorMessage="")).message is None
    assert to_item(raw("complete", errorCode="0")).message is None


def test_an_unknown_state_is_unknown_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    mapping._warned.discard("hibernating")
    with caplog.at_level(logging.WARNING, logger="haul.clients.aria2.mapping"):
        assert to_item(raw("hibernating")).status is Status.UNKNOWN
        assert to_item(raw("hibernating")).status is Status.UNKNOWN
    warnings = [r for r in caplog.records if "hibernating" in r.getMessage()]
    assert len(warnings) == 1


def test_sizes_speed_and_eta() -> None:
    item = to_item(raw("active"))
    assert (item.downloaded_bytes, item.total_bytes, item.speed) == (250, 1000, 50.0)
    assert item.eta == pytest.approx(15.0)
    assert item.progress == pytest.approx(0.25)
    assert item.save_path == "/data/dl"
    assert item.files == ("/data/dl/movie.mkv",)
    assert item.raw["gid"] == item.ref == "00000000000000a1"


def test_no_eta_without_speed_or_size() -> None:
    assert to_item(raw("active", downloadSpeed="0")).eta is None
    unknown = to_item(raw("active", totalLength="0"))
    assert unknown.total_bytes is None and unknown.eta is None and unknown.progress is None
    assert to_item(raw("paused")).eta is None


def test_names() -> None:
    torrent = raw("active", bittorrent={"info": {"name": "Some Show S01"}})
    assert to_item(torrent).name == "Some Show S01"
    assert to_item(raw("active")).name == "movie.mkv"
    no_path = raw("active")
    no_path["files"][0]["path"] = ""
    assert to_item(no_path).name == "movie.mkv"  # from the URI until aria2 knows the path
    assert to_item(raw("active", files=[])).name is None


def test_unselected_files_are_not_listed() -> None:
    files = [
        {"path": "/data/dl/show/a.mkv", "selected": "true"},
        {"path": "/data/dl/show/b.nfo", "selected": "false"},
    ]
    assert to_item(raw("active", files=files)).files == ("/data/dl/show/a.mkv",)


@pytest.mark.parametrize("code", sorted(RETRYABLE_ERROR_CODES))
def test_retryable_codes(code: int) -> None:
    assert is_retryable(code)
    assert is_retryable(str(code))  # aria2 sends numbers as strings


@pytest.mark.parametrize("code", [0, 1, 3, 8, 9, 13, 24, 31, "x", None, "", True])
def test_other_codes_are_not_retryable(code: Any) -> None:
    assert not is_retryable(code)


def test_retryable_codes_are_timeout_network_dns_and_busy() -> None:
    assert frozenset({2, 6, 19, 29}) == RETRYABLE_ERROR_CODES


def test_gid_is_the_download_id_in_16_hex_digits() -> None:
    assert gid_for(1) == "0000000000000001"
    assert gid_for(0xABC) == "0000000000000abc"
    assert gid_for((1 << 64) - 1) == "ffffffffffffffff"
    for bad in (0, -1, 1 << 64):
        with pytest.raises(ValueError):
            gid_for(bad)
