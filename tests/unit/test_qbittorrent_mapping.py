"""qBittorrent's torrents/info and torrents/files entries as haul items (pure)."""

from __future__ import annotations

from typing import Any

from haul.clients.qbittorrent.mapping import INFINITE_ETA, file_paths, to_item
from haul.core.status import Status

HASH = "2cb4c74de8c039d92d4e6325da1b647d078f411d"


def info(**fields: Any) -> dict[str, Any]:
    """A 4.5-shaped entry of a torrent half downloaded."""
    entry: dict[str, Any] = {
        "hash": HASH,
        "name": "film.mkv",
        "state": "downloading",
        "category": "haul",
        "size": 1000,
        "total_size": 1500,
        "completed": 500,
        "downloaded": 700,
        "progress": 0.5,
        "dlspeed": 2048,
        "eta": 12,
        "save_path": "/media/in",
        "download_path": "",
        "content_path": "/media/in/film.mkv",
    }
    entry.update(fields)
    return entry


def test_a_downloading_torrent() -> None:
    item = to_item(info())
    assert item.ref == HASH and item.status is Status.DOWNLOADING and item.message is None
    assert item.name == "film.mkv"
    assert (item.downloaded_bytes, item.total_bytes, item.progress) == (500, 1000, 0.5)
    assert item.speed == 2048.0 and item.eta == 12.0
    assert item.save_path == "/media/in" and item.files == ("/media/in/film.mkv",)
    assert item.raw["category"] == "haul"


def test_infinite_eta_is_unknown() -> None:
    assert to_item(info(eta=INFINITE_ETA)).eta is None
    assert to_item(info(eta=-1)).eta is None


def test_a_magnet_without_metadata_has_no_size_and_no_files() -> None:
    item = to_item(info(state="metaDL", size=0, total_size=-1, content_path="", completed=0))
    assert item.status is Status.DOWNLOADING
    assert item.message == "fetching the torrent's metadata"
    assert item.total_bytes is None and item.progress is None and item.files == ()


def test_a_content_path_given_relative_is_made_absolute() -> None:
    item = to_item(info(state="checkingResumeData", content_path="film.mkv"))
    assert item.status is Status.CHECKING and item.files == ("/media/in/film.mkv",)


def test_stopped_after_finishing_is_completed_on_4x_and_5x() -> None:
    assert to_item(info(state="pausedUP", progress=1)).status is Status.COMPLETED
    assert to_item(info(state="stoppedUP", progress=1)).status is Status.COMPLETED
    assert to_item(info(state="stoppedDL")).status is Status.PAUSED


def test_files_are_under_the_save_path_or_the_incomplete_folder() -> None:
    files = [{"name": "show/a.mkv"}, {"name": "show/b.srt"}]
    assert file_paths(info(), files) == ("/media/in/show/a.mkv", "/media/in/show/b.srt")
    unfinished = info(download_path="/media/incoming")
    assert file_paths(unfinished, files)[0] == "/media/incoming/show/a.mkv"
    finished = info(download_path="/media/incoming", progress=1)
    assert file_paths(finished, files)[0] == "/media/in/show/a.mkv"
    assert file_paths(info(save_path=""), files) == ()
