"""Torrents through the API to real qBittorrent and Transmission daemons: routing, a real
transfer between two clients, completion with files, the seeding goal, pause, resume, cancel,
retry, and adopting an item haul did not add."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import qbittorrentapi

from haul.core.torrents import parse_torrent
from tests.conftest import App
from tests.support.fixtures import MediaFiles
from tests.support.origin import Origin
from tests.support.qbittorrent import QbitDaemon, qbittorrent_daemon
from tests.support.torrents import make_torrent
from tests.support.transmission import TransmissionDaemon, transmission_daemon
from tests.support.wait import await_for

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def qbit(tmp_path: Path) -> Iterator[QbitDaemon]:
    with qbittorrent_daemon(tmp_path / "qbit") as daemon:
        yield daemon


@pytest.fixture
def seeder(tmp_path: Path) -> Iterator[QbitDaemon]:
    with qbittorrent_daemon(tmp_path / "seeder") as daemon:
        yield daemon


@pytest.fixture
def trans(tmp_path: Path) -> Iterator[TransmissionDaemon]:
    with transmission_daemon(tmp_path / "transmission") as daemon:
        yield daemon


def api_of(daemon: QbitDaemon) -> qbittorrentapi.Client:
    client = qbittorrentapi.Client(
        host=daemon.url, username=daemon.username, password=daemon.password
    )
    client.auth_log_in()
    return client


async def configure(app: App, name: str, kind: str, daemon: Any, **extra: Any) -> None:
    body = {
        "name": name,
        "kind": kind,
        "url": daemon.url,
        "username": daemon.username,
        "secret": daemon.password,
        **extra,
    }
    response = await app.post("/clients", json=body)
    assert response.status_code == 201, response.text


async def upload(app: App, blob: bytes, **form: str) -> dict[str, Any]:
    response = await app.post(
        "/downloads/torrent",
        files={"torrent": ("x.torrent", blob, "application/x-bittorrent")},
        data=form,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def status_is(app: App, download_id: int, *wanted: str, timeout: float = 30) -> Any:
    async def check() -> dict[str, Any] | None:
        item: dict[str, Any] = (await app.get(f"/downloads/{download_id}")).json()
        return item if item["status"] in wanted else None

    return await await_for(check, timeout, what=f"download {download_id} to be {wanted}")


def payload(folder: Path, name: str, size: int = 2 << 20) -> tuple[Path, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(os.urandom(size))
    return path, make_torrent(path)


async def test_a_torrent_goes_to_qbittorrent_and_arrives_from_a_real_peer(
    app: App, qbit: QbitDaemon, seeder: QbitDaemon, tmp_path: Path
) -> None:
    await configure(app, "qbit", "qbittorrent", qbit, remove_completed=True)
    data, blob = payload(tmp_path / "seed", "film.mkv")
    info_hash = parse_torrent(blob).info_hash
    seeding = api_of(seeder)
    seeding.torrents_add(torrent_files=blob, save_path=str(data.parent))

    def seeder_ready() -> bool:
        found = seeding.torrents_info(torrent_hashes=info_hash)  # empty for a moment after add
        return bool(found) and bool(found[0].state_enum.is_complete)

    await await_for(seeder_ready, 20, what="the seeder to check its data")
    created = await upload(app, blob, speed_limit="5M")
    assert created["url"].startswith(f"magnet:?xt=urn:btih:{info_hash}")
    assert created["speed_limit"] == 5_000_000
    moving = await status_is(app, created["id"], "downloading", "completed")
    assert moving["client"] == "qbit"
    assert moving["client_ref"] == info_hash
    await await_for(  # its own limit, kept by qBittorrent
        lambda: (
            api_of(qbit).torrents_download_limit(torrent_hashes=info_hash).get(info_hash)
            == 5_000_000
        ),
        10,
        what="qBittorrent to keep the download's own limit",
    )
    api_of(qbit).torrents_add_peers(peers=f"127.0.0.1:{seeder.peer_port}", torrent_hashes=info_hash)
    done = await status_is(app, created["id"], "completed", "failed", timeout=60)
    assert done["status"] == "completed", done
    assert [f["name"] for f in done["files"]] == ["film.mkv"]
    fetched = await app.get(f"/downloads/{created['id']}/file")
    assert hashlib.sha256(fetched.content).digest() == hashlib.sha256(data.read_bytes()).digest()
    # the seeding goal (none set: at once) takes it off the client, the file stays
    await await_for(
        lambda: not api_of(qbit).torrents_info(torrent_hashes=info_hash),
        20,
        what="haul to remove the finished torrent from qBittorrent",
    )
    assert (app.runtime.settings.downloads_root / "film.mkv").is_file()

    async def history() -> list[str] | None:
        # the release is recorded right after the client removed the torrent
        events = (await app.get(f"/downloads/{created['id']}/events")).json()
        kinds = [e["kind"] for e in events]
        return kinds if kinds[-1:] == ["released"] else None

    kinds = await await_for(history, 10, what="the release to be recorded")
    assert kinds[-5:] == ["handed_over", "downloaded", "probed", "completed", "released"]


async def test_pause_resume_cancel_and_retry_act_on_transmission(
    app: App, trans: TransmissionDaemon
) -> None:
    await configure(app, "trans", "transmission", trans)
    digest = hashlib.sha1(os.urandom(8), usedforsecurity=False).hexdigest()
    created = (
        await app.post("/downloads", json={"url": f"magnet:?xt=urn:btih:{digest}&dn=nothing"})
    ).json()
    download_id = created["id"]
    item = await status_is(app, download_id, "downloading")
    assert (item["client"], item["client_ref"]) == ("trans", digest)

    assert (await app.post(f"/downloads/{download_id}/pause")).json()["status"] == "paused"
    direct = app.runtime.directory.clients["trans"]
    await await_for(
        lambda: _native(direct, digest, "paused"), 15, what="Transmission to stop the torrent"
    )
    await app.post(f"/downloads/{download_id}/resume")
    await status_is(app, download_id, "downloading")

    canceled = await app.post(f"/downloads/{download_id}/cancel", json={"delete_files": True})
    assert canceled.json()["status"] == "canceled"
    assert digest not in await direct.items()

    retried = await app.post(f"/downloads/{download_id}/retry")
    assert retried.status_code == 200
    again = await status_is(app, download_id, "downloading")
    assert again["client_ref"] == digest
    assert digest in await direct.items()


async def test_transmission_verifies_data_already_there_and_completes(
    app: App, trans: TransmissionDaemon
) -> None:
    await configure(app, "trans", "transmission", trans)
    root = app.runtime.settings.downloads_root
    _, blob = payload(root, "already-here.bin", 1 << 20)
    created = await upload(app, blob, client="trans")
    done = await status_is(app, created["id"], "completed", "failed")
    assert done["status"] == "completed", done
    assert done["files"][0]["path"] == "already-here.bin"
    assert done["files"][0]["size"] == 1 << 20


async def test_a_seeding_episode_is_hardlinked_into_the_library(
    app: App, trans: TransmissionDaemon, media_files: MediaFiles
) -> None:
    await configure(app, "trans", "transmission", trans)
    root = app.runtime.settings.downloads_root
    root.mkdir(parents=True, exist_ok=True)
    data = root / "show.s01e03.mkv"
    shutil.copyfile(media_files.mkv, data)
    blob = make_torrent(data)
    series = (await app.post("/media", json={"kind": "series", "title": "Show"})).json()
    episode = (
        await app.post(
            "/media",
            json={
                "kind": "episode",
                "title": "Three",
                "parent_id": series["id"],
                "season": 1,
                "episode": 3,
            },
        )
    ).json()
    created = await upload(app, blob, client="trans", media_id=str(episode["id"]))
    done = await status_is(app, created["id"], "completed", "failed")
    assert done["status"] == "completed", done
    filed = app.runtime.settings.library_root / "Series/Show/Season 01/Show - S01E03.mkv"
    # Transmission still seeds from its copy: the library has the same file, not a second one.
    assert filed.samefile(data) and data.stat().st_nlink == 2
    [record] = (await app.get(f"/downloads/{created['id']}/files")).json()["items"]
    assert record["import_mode"] == "hardlink" and record["media_id"] == episode["id"]
    assert (await status_is(app, created["id"], "completed"))["client"] == "trans"


async def test_items_haul_did_not_add_are_listed_and_can_be_adopted(
    app: App, qbit: QbitDaemon, tmp_path: Path
) -> None:
    await configure(app, "qbit", "qbittorrent", qbit)
    _, blob = payload(tmp_path / "other", "someone-elses.bin", 100_000)
    info_hash = parse_torrent(blob).info_hash
    api_of(qbit).torrents_add(torrent_files=blob, category="haul", is_paused=True)
    _, foreign = payload(tmp_path / "foreign", "not-haul.bin", 100_000)
    api_of(qbit).torrents_add(torrent_files=foreign, is_paused=True)  # outside the category

    async def listed() -> list[dict[str, Any]] | None:
        found: list[dict[str, Any]] = (await app.get("/clients/qbit/untracked")).json()["items"]
        return found or None

    untracked = await await_for(listed, 15, what="the untracked torrent to show")
    assert [i["ref"] for i in untracked] == [info_hash]
    assert untracked[0]["name"] == "someone-elses.bin"

    adopted = await app.post("/clients/qbit/adopt", json={"ref": info_hash})
    assert adopted.status_code == 201, adopted.text
    assert adopted.json()["client_ref"] == info_hash
    assert adopted.json()["status"] in ("paused", "checking")  # its live state, from qBittorrent
    assert (await app.get("/clients/qbit/untracked")).json()["items"] == []
    twice = await app.post("/clients/qbit/adopt", json={"ref": info_hash})
    assert twice.status_code == 404


async def test_magnets_without_a_torrent_client_are_refused_at_submit(app: App) -> None:
    digest = hashlib.sha1(b"x", usedforsecurity=False).hexdigest()
    response = await app.post("/downloads", json={"url": f"magnet:?xt=urn:btih:{digest}"})
    assert response.status_code == 422
    assert "need a torrent client" in response.json()["detail"]
    bad = await app.post(
        "/downloads/torrent", files={"torrent": ("x.torrent", b"garbage", "text/plain")}
    )
    assert bad.status_code == 422
    assert "not a valid .torrent" in bad.json()["detail"]
    too_fast = await app.post(
        "/downloads/torrent",
        files={"torrent": ("x.torrent", b"garbage", "application/x-bittorrent")},
        data={"speed_limit": "fast"},
    )
    assert too_fast.status_code == 422
    assert too_fast.json()["detail"].startswith("'fast' is not a speed such as")


async def _native(client: Any, ref: str, wanted: str) -> bool:
    item = (await client.items([ref])).get(ref)
    return item is not None and item.status.value == wanted


async def test_a_frozen_client_times_out_alone_and_recovers(
    app: App, qbit: QbitDaemon, trans: TransmissionDaemon
) -> None:
    await configure(app, "qbit", "qbittorrent", qbit, timeout=1.0)
    await configure(app, "trans", "transmission", trans, timeout=1.0)
    ids = []
    for name in ("qbit", "trans"):
        created = await app.post("/downloads", json={"url": magnet(), "client": name})
        ids.append(created.json()["id"])
    on_qbit, on_trans = ids
    await status_is(app, on_qbit, "downloading")
    await status_is(app, on_trans, "downloading")
    os.kill(qbit.pid, signal.SIGSTOP)  # frozen: connections hang, nothing answers
    try:
        started = time.monotonic()
        listed = (await app.get("/downloads")).json()
        took = time.monotonic() - started
        assert took < 2.5, f"the list waited {took:.1f} s for a frozen client (timeout 1 s)"
        items = {i["id"]: i for i in listed["items"]}
        assert items[on_qbit]["status"] == "unknown"
        assert "did not answer within 1 s" in items[on_qbit]["error"]
        assert items[on_trans]["status"] == "downloading"  # the other client is unaffected
    finally:
        os.kill(qbit.pid, signal.SIGCONT)
    back = await status_is(app, on_qbit, "downloading", timeout=40)
    assert back["client_ref"]
    assert (await app.get(f"/downloads/{on_qbit}")).json()["error"] is None


def magnet() -> str:
    digest = hashlib.sha1(os.urandom(8), usedforsecurity=False).hexdigest()
    return f"magnet:?xt=urn:btih:{digest}&dn=frozen-test"


async def test_a_full_client_does_not_hold_slots_others_could_use(
    app: App, trans: TransmissionDaemon, origin: Origin
) -> None:
    assert (await app.http.patch("/api/v1/config", json={"limit_global": 2})).status_code == 200
    await configure(app, "trans", "transmission", trans, slot_limit=1)
    first = (await app.post("/downloads", json={"url": magnet()})).json()["id"]
    second = (await app.post("/downloads", json={"url": magnet()})).json()["id"]
    await status_is(app, first, "downloading")
    origin.add_file("/plain.bin", os.urandom(200_000))
    plain = (await app.post("/downloads", json={"url": origin.url("/plain.bin")})).json()["id"]
    done = await status_is(app, plain, "completed", "failed")
    assert done["status"] == "completed"  # the built-in engine got the free slot
    waiting = (await app.get(f"/downloads/{second}")).json()
    assert waiting["status"] == "queued"  # Transmission is full: it waits, holding no slot
    assert waiting["client_ref"] is None
    await app.post(f"/downloads/{first}/cancel", json={"delete_files": True})
    moved = await status_is(app, second, "downloading")
    assert moved["client"] == "trans"


async def test_qbittorrent_pause_resume_cancel_and_retry(app: App, qbit: QbitDaemon) -> None:
    await configure(app, "qbit", "qbittorrent", qbit)
    url = magnet()
    download_id = (await app.post("/downloads", json={"url": url})).json()["id"]
    item = await status_is(app, download_id, "downloading")
    ref = item["client_ref"]
    direct = api_of(qbit)
    assert (await app.post(f"/downloads/{download_id}/pause")).json()["status"] == "paused"
    await await_for(
        lambda: direct.torrents_info(torrent_hashes=ref)[0].state_enum.is_paused,
        15,
        what="qBittorrent to pause it",
    )
    await app.post(f"/downloads/{download_id}/resume")
    await status_is(app, download_id, "downloading")
    canceled = await app.post(f"/downloads/{download_id}/cancel", json={"delete_files": True})
    assert canceled.json()["status"] == "canceled"
    await await_for(lambda: not direct.torrents_info(torrent_hashes=ref), 15, what="removal")
    await app.post(f"/downloads/{download_id}/retry")
    again = await status_is(app, download_id, "downloading")
    assert again["client_ref"] == ref
    assert direct.torrents_info(torrent_hashes=ref)


async def test_a_paused_torrent_gives_its_slot_back_and_resumes_in_its_client(
    app: App, trans: TransmissionDaemon, origin: Origin
) -> None:
    assert (await app.http.patch("/api/v1/config", json={"limit_global": 1})).status_code == 200
    await configure(app, "trans", "transmission", trans)
    torrent = (await app.post("/downloads", json={"url": magnet()})).json()["id"]
    ref = (await status_is(app, torrent, "downloading"))["client_ref"]
    assert (await app.post(f"/downloads/{torrent}/pause")).json()["status"] == "paused"
    direct = app.runtime.directory.clients["trans"]
    await await_for(lambda: _native(direct, ref, "paused"), 15, what="Transmission to stop it")

    origin.add_file("/meanwhile.bin", os.urandom(300_000))
    origin.throttle("/meanwhile.bin", 300_000)
    plain = (await app.post("/downloads", json={"url": origin.url("/meanwhile.bin")})).json()
    await status_is(app, plain["id"], "downloading")  # the paused torrent holds no slot
    assert (await app.post(f"/downloads/{torrent}/resume")).status_code == 200
    waiting = (await app.get(f"/downloads/{torrent}")).json()
    assert waiting["status"] == "queued"  # it waits for the slot like any other download
    await status_is(app, plain["id"], "completed")
    back = await status_is(app, torrent, "downloading")
    assert back["client_ref"] == ref  # the same torrent, resumed in its client
    kinds = [e["kind"] for e in (await app.get(f"/downloads/{torrent}/events")).json()]
    assert kinds.count("handed_over") == 1
    assert kinds[-1] == "resumed"


async def test_the_same_torrent_can_be_downloaded_again_after_a_cancel(
    app: App, trans: TransmissionDaemon
) -> None:
    await configure(app, "trans", "transmission", trans)
    url = magnet()
    first = (await app.post("/downloads", json={"url": url})).json()["id"]
    ref = (await status_is(app, first, "downloading"))["client_ref"]
    await app.post(f"/downloads/{first}/cancel", json={"delete_files": False})
    second = (await app.post("/downloads", json={"url": url})).json()["id"]
    again = await status_is(app, second, "downloading", "failed")
    assert again["status"] == "downloading", again
    assert again["client_ref"] == ref
    old = (await app.get(f"/downloads/{first}")).json()
    assert old["status"] == "canceled"  # its history stays; it no longer owns the item
    assert old["client_ref"] is None
