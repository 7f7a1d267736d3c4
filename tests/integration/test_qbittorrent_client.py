"""QBittorrentClient against real qbittorrent-nox daemons: one haul talks to, one seeding.

The daemons live for the module (each test makes fresh torrents from random data, so nothing
leaks between tests); real transfers run over loopback, the downloader dialing the seeder.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import qbittorrentapi
import transmission_rpc

from haul.clients.base import AddRequest, DownloadClient
from haul.clients.qbittorrent.client import QBittorrentClient
from haul.core.client_items import ClientItem
from haul.core.status import Status
from haul.core.torrents import TorrentMeta, parse_torrent
from haul.errors import ClientAuthFailed, ClientItemNotFound, ClientRefused
from tests.support.daemons import free_port
from tests.support.qbittorrent import QbitDaemon, qbittorrent_daemon
from tests.support.torrents import make_torrent
from tests.support.transmission import RPC_PATH, transmission_daemon
from tests.support.wait import await_for, wait_for

DEADLINE = 15.0


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QbitDaemon]:
    with qbittorrent_daemon(tmp_path_factory.mktemp("qbit")) as running:
        yield running


@pytest.fixture(scope="module")
def seeder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QbitDaemon]:
    with qbittorrent_daemon(tmp_path_factory.mktemp("seeder")) as running:
        yield running


def api(daemon: QbitDaemon) -> qbittorrentapi.Client:
    """The daemon reached directly, the way a person's own tools would."""
    return daemon.api()


@pytest.fixture
async def client(daemon: QbitDaemon) -> AsyncIterator[QBittorrentClient]:
    async with QBittorrentClient(daemon.url, daemon.username, daemon.password) as qbit:
        yield qbit


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "downloads"


def payload(tmp_path: Path, size: int, name: str = "film.bin") -> Path:
    path = tmp_path / "origin" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        for _ in range(0, size, 1 << 20):
            fh.write(os.urandom(min(1 << 20, size - fh.tell())))
    return path


def torrent_of(path: Path) -> tuple[bytes, TorrentMeta]:
    blob = make_torrent(path, piece_length=1 << 16)
    return blob, parse_torrent(blob)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


async def wait_item(
    client: QBittorrentClient,
    ref: str,
    check: Callable[[ClientItem], bool],
    what: str,
    timeout: float = DEADLINE,
) -> ClientItem:
    async def found() -> ClientItem | None:
        item = (await client.items([ref])).get(ref)
        return item if item is not None and check(item) else None

    item: ClientItem | None = await await_for(found, timeout, 0.05, f"{ref} {what}")
    assert item is not None
    return item


def status_is(*wanted: Status) -> Callable[[ClientItem], bool]:
    return lambda item: item.status in wanted


def seed(
    seeder: QbitDaemon, path: Path, blob: bytes, meta: TorrentMeta, upload_limit: int = 0
) -> None:
    """Make the seeder daemon seed ``path`` (checked from disk) and wait until it does."""
    qbit = api(seeder)
    qbit.torrents_add(torrent_files=blob, save_path=str(path.parent), upload_limit=upload_limit)

    def seeding() -> bool:
        found = qbit.torrents_info(torrent_hashes=meta.info_hash)
        return bool(found) and found[0]["state"] in ("uploading", "stalledUP")

    wait_for(seeding, DEADLINE, 0.05, "the seeder to seed")


def dial(caller: QbitDaemon, callee: QbitDaemon, info_hash: str) -> None:
    """Make ``caller`` connect to ``callee`` for the torrent (there is no tracker or DHT)."""
    api(caller).torrents_add_peers(peers=f"127.0.0.1:{callee.peer_port}", torrent_hashes=info_hash)


# -- health -------------------------------------------------------------------------------


async def test_it_is_a_download_client_and_healthy(client: QBittorrentClient) -> None:
    assert isinstance(client, DownloadClient)
    assert client.kind == "qbittorrent" and client.name == "qbittorrent"
    health = await client.health()
    assert health.ok, health.error
    assert health.version is not None
    assert health.version.startswith(("qBittorrent v4.", "qBittorrent v5."))
    assert " / Web API 2." in health.version


async def test_health_says_the_port_refused_the_connection() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    async with QBittorrentClient(url, "haul", "secret", timeout=2.0) as qbit:
        health = await qbit.health()
    assert not health.ok and health.code == "client_unavailable"
    assert health.error == (
        f"qBittorrent at {url} refused the connection (is it running, on that port?)"
    )


async def test_health_says_a_silent_port_did_not_answer_in_time() -> None:
    with socket.socket() as silent:  # accepts connections (backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        async with QBittorrentClient(url, "haul", "secret", timeout=0.6) as qbit:
            health = await qbit.health()
        took = time.monotonic() - started
    assert not health.ok and health.code == "client_unavailable"
    assert health.error == f"qBittorrent at {url} did not answer within 0.6 s"
    assert took < 2.0


async def test_health_says_the_credentials_are_wrong_without_echoing_them(
    daemon: QbitDaemon,
) -> None:
    async with QBittorrentClient(daemon.url, daemon.username, "not-the-password") as qbit:
        health = await qbit.health()
        with pytest.raises(ClientAuthFailed) as raised:
            await qbit.items()
    assert not health.ok and health.code == "client_auth_failed"
    assert health.error == f"qBittorrent at {daemon.url} refused the username or password."
    assert raised.value.message == health.error


async def test_health_says_a_server_without_web_api_v2_is_too_old() -> None:
    class Old(BaseHTTPRequestHandler):  # qBittorrent before 4.1 has no /api/v2 at all
        def do_GET(self) -> None:
            self.send_error(404)

        do_POST = do_GET

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Old)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        async with QBittorrentClient(url, "haul", "secret", timeout=2.0) as qbit:
            health = await qbit.health()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert not health.ok and health.code == "client_version_unsupported"
    assert health.error == (
        f"qBittorrent at {url} has no Web API v2 (qBittorrent 4.1 or newer is needed)."
    )


async def test_an_ended_session_logs_in_again(client: QBittorrentClient) -> None:
    assert (await client.health()).ok
    await client.wire.logout()
    assert isinstance(await client.items(), dict)
    assert (await client.health()).ok


# -- adding -------------------------------------------------------------------------------


async def test_add_paused_then_resume(
    client: QBittorrentClient, tmp_path: Path, dest: Path
) -> None:
    blob, meta = torrent_of(payload(tmp_path, 300_000))
    ref = await client.add(AddRequest(1, meta.magnet, dest, torrent=blob, paused=True))
    assert ref == meta.info_hash and len(ref) == 40
    assert ref in await client.items()  # known at once, no waiting

    item = await wait_item(client, ref, status_is(Status.PAUSED), "paused")
    assert item.name == "film.bin"
    assert item.total_bytes == 300_000 and item.downloaded_bytes == 0
    assert item.save_path == str(dest)
    assert item.files == (str(dest / "film.bin"),)
    assert item.eta is None and item.raw["category"] == "haul"
    assert await client.files(ref) == (str(dest / "film.bin"),)

    await client.resume(ref)
    item = await wait_item(client, ref, status_is(Status.DOWNLOADING), "downloading")
    assert item.message == "stalled: no peer is sending data"  # nobody seeds it
    await client.pause(ref)
    await wait_item(client, ref, status_is(Status.PAUSED), "paused again")


async def test_add_a_magnet_fetches_metadata(client: QBittorrentClient, dest: Path) -> None:
    info_hash = os.urandom(20).hex()
    magnet = f"magnet:?xt=urn:btih:{info_hash.upper()}&dn=nobody+seeds+this"
    ref = await client.add(AddRequest(2, magnet, dest))
    assert ref == info_hash
    item = (await client.items([ref]))[ref]
    assert item.status is Status.DOWNLOADING
    assert item.message == "fetching the torrent's metadata"
    assert item.total_bytes is None and item.files == ()
    assert await client.files(ref) == ()
    await client.remove(ref, delete_data=True)
    assert await client.items([ref]) == {}


async def test_a_link_to_a_torrent_file_is_refused_with_a_reason(
    client: QBittorrentClient, dest: Path
) -> None:
    with pytest.raises(ClientRefused, match=r"Fetch the \.torrent first"):
        await client.add(AddRequest(3, "http://127.0.0.1:9/film.torrent", dest))


async def test_adding_the_same_torrent_twice_keeps_one(
    client: QBittorrentClient, daemon: QbitDaemon, tmp_path: Path, dest: Path
) -> None:
    blob, meta = torrent_of(payload(tmp_path, 100_000))
    request = AddRequest(4, meta.magnet, dest, torrent=blob, paused=True)
    assert await client.add(request) == await client.add(request) == meta.info_hash
    assert len(api(daemon).torrents_info(torrent_hashes=meta.info_hash)) == 1


async def test_a_torrent_held_outside_hauls_category_is_not_taken_over(
    client: QBittorrentClient, daemon: QbitDaemon, tmp_path: Path, dest: Path
) -> None:
    blob, meta = torrent_of(payload(tmp_path, 100_000))
    own = api(daemon)
    own.torrents_add(torrent_files=blob, save_path=str(tmp_path / "mine"), is_paused=True)
    wait_for(lambda: own.torrents_info(torrent_hashes=meta.info_hash), DEADLINE)

    with pytest.raises(ClientRefused, match="outside haul's category"):
        await client.add(AddRequest(5, meta.magnet, dest, torrent=blob))

    assert meta.info_hash not in await client.items()
    assert await client.items([meta.info_hash]) == {}
    for action in (client.pause, client.resume, client.files):
        with pytest.raises(ClientItemNotFound):
            await action(meta.info_hash)
    with pytest.raises(ClientItemNotFound):
        await client.remove(meta.info_hash, delete_data=True)
    [theirs] = own.torrents_info(torrent_hashes=meta.info_hash)
    assert theirs["category"] == "" and theirs["save_path"] == str(tmp_path / "mine")


async def test_items_lists_only_hauls_category(
    client: QBittorrentClient, daemon: QbitDaemon, tmp_path: Path, dest: Path
) -> None:
    mine_blob, mine = torrent_of(payload(tmp_path, 50_000, "mine.bin"))
    other_blob, other = torrent_of(payload(tmp_path, 50_000, "other.bin"))
    api(daemon).torrents_add(torrent_files=other_blob, category="films", is_paused=True)
    await client.add(AddRequest(6, mine.magnet, dest, torrent=mine_blob, paused=True))

    listed = await client.items()
    assert mine.info_hash in listed and other.info_hash not in listed
    assert all(item.raw["category"] == "haul" for item in listed.values())
    assert set(await client.items([mine.info_hash, other.info_hash])) == {mine.info_hash}
    assert await client.items([]) == {}


async def test_unknown_torrents_raise_not_found(client: QBittorrentClient) -> None:
    nobody = os.urandom(20).hex()
    for action in (client.pause, client.resume, client.files):
        with pytest.raises(ClientItemNotFound) as raised:
            await action(nobody)
        assert raised.value.ref == nobody
        assert nobody in raised.value.message
    with pytest.raises(ClientItemNotFound):
        await client.remove(nobody, delete_data=False)


# -- real transfers -----------------------------------------------------------------------


async def test_a_real_transfer_completes_with_the_same_bytes(
    client: QBittorrentClient,
    daemon: QbitDaemon,
    seeder: QbitDaemon,
    tmp_path: Path,
    dest: Path,
) -> None:
    source = payload(tmp_path, 3 << 20)
    blob, meta = torrent_of(source)
    seed(seeder, source, blob, meta)

    ref = await client.add(AddRequest(7, meta.magnet, dest, torrent=blob))
    dial(daemon, seeder, ref)
    item = await wait_item(client, ref, status_is(Status.COMPLETED, Status.SEEDING), "complete")

    assert item.downloaded_bytes == item.total_bytes == 3 << 20
    assert item.progress == 1.0
    assert item.files == (str(dest / "film.bin"),)
    assert await client.files(ref) == (str(dest / "film.bin"),)
    assert sha256(dest / "film.bin") == sha256(source)

    await client.remove(ref, delete_data=False)
    assert await client.items([ref]) == {}
    assert sha256(dest / "film.bin") == sha256(source)


async def test_pause_mid_transfer_then_resume_and_remove_with_data(
    client: QBittorrentClient,
    daemon: QbitDaemon,
    seeder: QbitDaemon,
    tmp_path: Path,
    dest: Path,
) -> None:
    size = 8 << 20
    first, second = (
        payload(tmp_path, 6 << 20, "show/a.bin"),
        payload(tmp_path, 2 << 20, "show/b.bin"),
    )
    source = first.parent
    blob, meta = torrent_of(source)
    seed(seeder, source, blob, meta, upload_limit=1 << 20)  # ~8 s unless lifted

    ref = await client.add(AddRequest(8, meta.magnet, dest, torrent=blob))
    dial(daemon, seeder, ref)
    moving = await wait_item(
        client,
        ref,
        lambda i: i.status is Status.DOWNLOADING and 0 < i.downloaded_bytes < size,
        "moving",
    )
    assert moving.progress is not None and 0 < moving.progress < 1

    await client.pause(ref)
    paused = await wait_item(client, ref, status_is(Status.PAUSED), "paused")
    assert paused.downloaded_bytes < size and not paused.speed
    await asyncio.sleep(0.5)  # a window in which nothing may move (not a wait for anything)
    still = (await client.items([ref]))[ref]
    assert still.status is Status.PAUSED
    assert still.downloaded_bytes == paused.downloaded_bytes

    await client.resume(ref)
    # A paused torrent drops its peers, and libtorrent waits a minute before it dials a peer
    # it was connected to again: a second seeder, never dialed before, serves the rest.
    with qbittorrent_daemon(tmp_path / "seeder2") as fresh:
        seed(fresh, source, blob, meta)
        dial(daemon, fresh, ref)
        done = await wait_item(client, ref, status_is(Status.COMPLETED, Status.SEEDING), "done")
    assert done.files == (str(dest / "show"),)
    got = await client.files(ref)
    assert sorted(got) == [str(dest / "show" / "a.bin"), str(dest / "show" / "b.bin")]
    assert sha256(dest / "show" / "a.bin") == sha256(first)
    assert sha256(dest / "show" / "b.bin") == sha256(second)

    await client.remove(ref, delete_data=True)
    assert not any(Path(path).exists() for path in got)
    assert await client.items([ref]) == {}


async def test_a_transfer_from_a_transmission_seeder(
    client: QBittorrentClient, daemon: QbitDaemon, tmp_path: Path, dest: Path
) -> None:
    source = payload(tmp_path, 2 << 20)
    blob, meta = torrent_of(source)
    with transmission_daemon(tmp_path / "transmission") as seeder:
        rpc = transmission_rpc.Client(
            host=seeder.host,
            port=seeder.port,
            username=seeder.username,
            password=seeder.password,
            path=RPC_PATH,
            timeout=5.0,
        )
        rpc.add_torrent(blob, download_dir=str(source.parent))

        def seeding() -> bool:
            torrent = rpc.get_torrent(meta.info_hash, ["status", "percentDone"])
            return torrent.seeding and torrent.percent_done == 1

        wait_for(seeding, DEADLINE, 0.05, "Transmission to seed")

        ref = await client.add(AddRequest(9, meta.magnet, dest, torrent=blob))
        # Transmission never dials loopback peers: qBittorrent dials it. Transmission unchokes
        # new peers at its next rechoke (every 10 s), so data flows after 10-15 s.
        api(daemon).torrents_add_peers(peers=f"127.0.0.1:{seeder.peer_port}", torrent_hashes=ref)
        completed = status_is(Status.COMPLETED, Status.SEEDING)
        done = await wait_item(client, ref, completed, "done", timeout=40.0)
    assert done.downloaded_bytes == 2 << 20
    assert sha256(dest / "film.bin") == sha256(source)
