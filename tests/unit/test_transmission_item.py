"""A torrent-get answer of Transmission as haul's ClientItem (pure; the live daemon is in
tests/integration/test_transmission_client.py)."""

from __future__ import annotations

from typing import Any

from haul.clients.transmission.mapping import file_paths, has_label, to_item
from haul.core.status import Status

HASH = "ab" * 20


def raw(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "hashString": HASH.upper(),
        "name": "film.mkv",
        "status": 4,
        "error": 0,
        "errorString": "",
        "percentDone": 0.25,
        "isFinished": False,
        "sizeWhenDone": 1000,
        "leftUntilDone": 750,
        "metadataPercentComplete": 1,
        "rateDownload": 4096,
        "eta": 12,
        "downloadDir": "/media/films",
        "labels": ["haul"],
        "uploadRatio": 0.5,
        "secondsSeeding": 0,
    }
    base.update(fields)
    return base


def test_a_downloading_torrent() -> None:
    item = to_item(raw())
    assert item.ref == HASH
    assert item.status is Status.DOWNLOADING
    assert (item.downloaded_bytes, item.total_bytes, item.progress) == (250, 1000, 0.25)
    assert (item.speed, item.eta, item.ratio, item.seeding_seconds) == (4096.0, 12.0, 0.5, 0.0)
    assert item.save_path == "/media/films"
    assert item.message is None
    assert item.files == ()


def test_unknown_eta_and_ratio_are_none() -> None:
    for eta, ratio in ((-1, -1), (-2, -2)):
        item = to_item(raw(eta=eta, uploadRatio=ratio))
        assert item.eta is None
        assert item.ratio is None


def test_a_magnet_without_metadata_has_no_size_yet() -> None:
    item = to_item(raw(metadataPercentComplete=0.0, sizeWhenDone=0, leftUntilDone=0, percentDone=0))
    assert item.status is Status.DOWNLOADING
    assert item.total_bytes is None
    assert item.downloaded_bytes == 0
    assert item.progress is None
    assert item.message == "waiting for peers to send the torrent's metadata"


def test_stopped_with_all_data_is_completed_without_it_paused() -> None:
    assert to_item(raw(status=0, percentDone=1, leftUntilDone=0)).status is Status.COMPLETED
    assert to_item(raw(status=0)).status is Status.PAUSED
    assert to_item(raw(status=0, isFinished=True)).status is Status.COMPLETED


def test_tracker_trouble_is_a_message_and_a_local_error_fails() -> None:
    warned = to_item(raw(error=2, errorString="Tracker gave HTTP 404"))
    assert warned.status is Status.DOWNLOADING
    assert warned.message == "tracker error: Tracker gave HTTP 404"
    failed = to_item(raw(error=3, errorString="No space left on device"))
    assert failed.status is Status.FAILED
    assert failed.message == "No space left on device"


def test_file_paths_and_labels() -> None:
    files = [{"name": "Show/e1.mkv"}, {"name": "Show/extras/notes.txt"}]
    assert file_paths({"downloadDir": "/media", "files": files}) == (
        "/media/Show/e1.mkv",
        "/media/Show/extras/notes.txt",
    )
    assert file_paths({"downloadDir": "/media", "files": []}) == ()
    assert has_label(raw(), "haul")
    assert not has_label(raw(labels=[]), "haul")
    assert not has_label({"hashString": HASH}, "haul")
