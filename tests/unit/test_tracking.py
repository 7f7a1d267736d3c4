"""The status a person sees, for each combination of stored phase and client answer."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from haul.core.client_items import ClientItem
from haul.core.owners import owner_name
from haul.core.status import Phase, Status
from haul.core.tracking import Playlist, playlist_summary, track

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Row:
    id: int = 1
    source_url: str = "http://example.com/a.mkv"
    title: str | None = None
    phase: str = Phase.ACTIVE
    desired_paused: bool = False
    canceled_at: datetime | None = None
    client: str | None = "aria2"
    client_ref: str | None = "abc"
    media_id: int | None = None
    parent_id: int | None = None
    owner_key: str = "local"
    created_at: datetime = NOW
    completed_at: datetime | None = None
    last_error_code: str | None = None
    last_error_message: str | None = None
    retry_next_at: datetime | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    files: list[Any] = field(default_factory=list)
    format: str | None = None
    audio_format: str | None = None
    audio_quality: str | None = None
    speed_limit: int | None = None


def item(status: Status, done: int = 50, total: int | None = 100, **kw: Any) -> ClientItem:
    return ClientItem(
        "abc", status, downloaded_bytes=done, total_bytes=total, speed=10.0, eta=5.0, **kw
    )


@pytest.mark.parametrize(
    ("row", "client_item", "error", "expected"),
    [
        (Row(phase=Phase.QUEUED, client=None), None, None, Status.QUEUED),
        (Row(phase=Phase.QUEUED, desired_paused=True), None, None, Status.PAUSED),
        (Row(phase=Phase.ADMITTED, client=None), None, None, Status.RESOLVING),
        (Row(), item(Status.DOWNLOADING), None, Status.DOWNLOADING),
        (Row(), item(Status.SEEDING), None, Status.SEEDING),
        (Row(), item(Status.CHECKING), None, Status.CHECKING),
        (Row(desired_paused=True), item(Status.DOWNLOADING), None, Status.PAUSED),
        (Row(), None, None, Status.MISSING),
        (Row(), None, "connection refused", Status.UNKNOWN),
        (Row(canceled_at=NOW), item(Status.DOWNLOADING), None, Status.CANCELED),
        (Row(phase=Phase.PROCESSING), item(Status.COMPLETED), None, Status.PROCESSING),
        (Row(phase=Phase.COMPLETED), None, None, Status.COMPLETED),
        (Row(phase=Phase.FAILED, last_error_message="404"), None, None, Status.FAILED),
        (Row(phase=Phase.CANCELED), None, None, Status.CANCELED),
    ],
)
def test_status_table(
    row: Row, client_item: ClientItem | None, error: str | None, expected: Status
) -> None:
    assert track(row, client_item, client_error=error).status is expected


def test_live_fields_come_from_the_client_only_while_live() -> None:
    live = track(Row(), item(Status.DOWNLOADING, done=25, total=100))
    assert (live.progress, live.downloaded_bytes, live.speed, live.eta) == (0.25, 25, 10.0, 5.0)
    paused = track(Row(desired_paused=True), item(Status.PAUSED, done=25))
    assert paused.speed is None and paused.eta is None and paused.downloaded_bytes == 25


def test_unreachable_client_shows_its_error_and_keeps_the_row() -> None:
    t = track(Row(), None, client_error="aria2: connection refused")
    assert t.status is Status.UNKNOWN
    assert t.error == "aria2: connection refused"
    assert t.client_ref == "abc"


def test_completed_reports_the_size_of_its_files() -> None:
    t = track(Row(phase=Phase.COMPLETED, files=[{"path": "a", "name": "a", "size": 7}]), None)
    assert (t.progress, t.downloaded_bytes, t.total_bytes) == (1.0, 7, 7)


def test_failed_shows_the_reason_and_waiting_retry_shows_when() -> None:
    failed = track(
        Row(phase=Phase.FAILED, last_error_code="http_404", last_error_message="gone"), None
    )
    assert (failed.error, failed.error_code) == ("gone", "http_404")
    retrying = track(Row(phase=Phase.QUEUED, retry_next_at=NOW, last_error_message="503"), None)
    assert retrying.status is Status.QUEUED and retrying.retry_at == NOW and retrying.error == "503"


def test_waiting_for_disk_space_is_a_state_with_a_message_not_an_error() -> None:
    said = "Waiting for disk space: 120.0 MB free, 300.0 MB needed."
    row = Row(
        phase=Phase.QUEUED,
        retry_next_at=NOW,
        last_error_code="disk_full",
        last_error_message=said,
    )
    waiting = track(row, None)
    assert (waiting.status, waiting.message, waiting.retry_at) == (Status.QUEUED, said, NOW)
    assert (waiting.error, waiting.error_code) == (None, None)


@pytest.mark.parametrize(
    ("children", "expected"),
    [
        ({Status.COMPLETED: 2}, Status.COMPLETED),
        ({Status.COMPLETED: 1, Status.DOWNLOADING: 1}, Status.DOWNLOADING),
        ({Status.COMPLETED: 1, Status.FAILED: 1}, Status.FAILED),
        ({Status.CANCELED: 2}, Status.CANCELED),
        ({}, Status.RESOLVING),
    ],
)
def test_playlist_parent_status_from_children(children: dict[str, int], expected: Status) -> None:
    parent = track(Row(phase=Phase.PARENT, client=None), None, children=Playlist(children))
    assert parent.status is expected


def test_a_playlist_has_its_entries_sizes_and_says_how_far_it_is() -> None:
    row = Row(phase=Phase.PARENT, client=None)
    done = track(row, None, children=Playlist({Status.COMPLETED: 3}, 3_000, NOW))
    assert (done.status, done.downloaded_bytes, done.total_bytes) == (Status.COMPLETED, 3000, 3000)
    assert done.message == "3 of 3 downloaded" and done.completed_at == NOW
    assert done.children == 3 and done.children_status == {"completed": 3}
    going = track(row, None, children=Playlist({Status.COMPLETED: 1, Status.QUEUED: 2}, 1_000))
    assert (going.downloaded_bytes, going.total_bytes, going.completed_at) == (1000, None, None)
    assert going.message == "1 of 3 downloaded, 2 queued"
    assert going.progress == pytest.approx(1 / 3)


def test_playlist_summary_names_every_status_but_the_finished_once() -> None:
    counts = {Status.COMPLETED: 2, Status.FAILED: 1, Status.DOWNLOADING: 1}
    assert playlist_summary(counts) == "2 of 4 downloaded, 1 downloading, 1 failed"
    assert playlist_summary({}) == "no entries yet"


def test_owners_are_named_as_people_read_them() -> None:
    names = {2: "alice"}
    assert owner_name("user:2", names) == "alice"
    assert owner_name("user:9", names) == "user 9"
    assert owner_name("session:1a2b3c4d-0000-4000-8000-000000000000", names) == "visitor 1a2b3c4d"
    assert owner_name("local", names) == "local"


@pytest.mark.parametrize(
    ("url", "title"),
    [
        ("https://files.example/dl/Ubuntu%2024.04%20desktop.iso", "Ubuntu 24.04 desktop.iso"),
        ("https://files.example/a/clip.mp4?token=x#t=3", "clip.mp4"),
        ("https://files.example/a/%1B%5B31mred%0Aline.mkv", "red line.mkv"),  # untrusted
        ("https://www.youtube.com/watch?v=abcdefghijk", None),  # a page names no file
        ("https://files.example/", None),
        ("magnet:?xt=urn:btih:abc&dn=clip.mkv", None),
    ],
)
def test_a_queued_download_is_called_by_the_file_name_its_link_ends_with(
    url: str, title: str | None
) -> None:
    queued = Row(source_url=url, phase=Phase.QUEUED, client=None, client_ref=None)
    assert track(queued, None).title == title
    # what the source says, once known, comes first
    named = Row(source_url=url, title="Its own title", phase=Phase.QUEUED, client=None)
    assert track(named, None).title == "Its own title"
