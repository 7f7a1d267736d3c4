"""TransmissionClient against a real transmission-daemon started per test.

Torrents are made per test from random data (a fresh info-hash each time). Torrents "outside
haul" are added with transmission-rpc directly, as a user's own tools would. The transfer test
seeds from a real qBittorrent daemon: Transmission never dials peers on loopback, so the
seeder is told to connect to Transmission's peer port.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import qbittorrentapi
import transmission_rpc

from haul.clients.base import AddRequest, DownloadClient
from haul.clients.transmission.client import TransmissionClient
from haul.core.client_items import ClientItem
from haul.core.status import Status
from haul.core.torrents import parse_torrent
from haul.errors import (
    ClientAuthFailed,
    ClientItemNotFound,
    ClientRefused,
    ClientVersionUnsupported,
)
from tests.support.daemons import free_port
from tests.support.qbittorrent import QbitDaemon, qbittorrent_daemon
from tests.support.torrents import make_torrent
from tests.support.transmission import TransmissionDaemon, transmission_daemon

DEADLINE = 15.0
#: Data flows 0-10 s after the seeder connects: Transmission 3.00 tells a new peer it is
#: interested only at its next rechoke, every 10 s from the daemon's start.
FLOW_DEADLINE = 30.0


@dataclass
class Payload:
    path: Path  # the file or folder the torrent describes
    torrent: bytes
    info_hash: str


def payload(folder: Path, name: str = "film.bin", size: int = 256 * 1024) -> Payload:
    """A random file (or, for a name without a suffix, a folder of two) and its torrent."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if path.suffix:
        path.write_bytes(os.urandom(size))
    else:
        (path / "extras").mkdir(parents=True)
        (path / "episode.mkv").write_bytes(os.urandom(size))
        (path / "extras" / "notes.txt").write_bytes(os.urandom(1000))
    blob = make_torrent(path, piece_length=65536)
    return Payload(path, blob, parse_torrent(blob).info_hash)


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[TransmissionDaemon]:
    with transmission_daemon(tmp_path / "transmission") as running:
        yield running


@pytest.fixture
async def client(daemon: TransmissionDaemon) -> AsyncIterator[TransmissionClient]:
    async with TransmissionClient(daemon.url, daemon.username, daemon.password, timeout=3.0) as tr:
        yield tr


@pytest.fixture
def outside(daemon: TransmissionDaemon) -> Iterator[transmission_rpc.Client]:
    """The daemon as a user's other tools see it (no haul involved)."""
    with transmission_rpc.Client(
        host=daemon.host, port=daemon.port, username=daemon.username, password=daemon.password
    ) as rpc:
        yield rpc


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "downloads"


async def wait_item(
    client: TransmissionClient,
    ref: str,
    check: Callable[[ClientItem], bool],
    what: str,
    timeout: float = DEADLINE,
) -> ClientItem:
    """Poll ``items`` until ``ref`` satisfies ``check``; fail after the deadline."""
    deadline = time.monotonic() + timeout
    item = None
    while True:
        item = (await client.items([ref])).get(ref)
        if item is not None and check(item):
            return item
        if time.monotonic() > deadline:
            raise AssertionError(f"{ref} never became {what} within {timeout} s: {item}")
        await asyncio.sleep(0.05)


async def wait_true(check: Callable[[], bool], what: str, timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} within {timeout} s")
        await asyncio.sleep(0.05)


def status_is(status: Status) -> Callable[[ClientItem], bool]:
    return lambda item: item.status is status


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def held(rpc: transmission_rpc.Client) -> dict[str, dict[str, object]]:
    fields = ["hashString", "labels", "downloadDir", "status"]
    return {t.fields["hashString"]: t.fields for t in rpc.get_torrents(arguments=fields)}


# -- health ------------------------------------------------------------------------------


async def test_health_names_version_and_rpc(client: TransmissionClient) -> None:
    assert isinstance(client, DownloadClient)
    health = await client.health()
    assert health.ok, health
    assert health.version == "Transmission 3.00 (RPC 16)"


async def test_health_says_the_port_refused() -> None:
    async with TransmissionClient(f"http://127.0.0.1:{free_port()}/transmission/rpc") as tr:
        health = await tr.health()
    assert not health.ok
    assert health.code == "client_unavailable"
    assert "refused the connection" in (health.error or "")


async def test_health_says_the_daemon_did_not_answer_in_time() -> None:
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/transmission/rpc"
        async with TransmissionClient(url, timeout=0.3) as tr:
            health = await tr.health()
    assert not health.ok
    assert health.code == "client_unavailable"
    assert "did not answer within 0.3 s" in (health.error or "")


async def test_health_says_the_password_is_wrong_without_echoing_it(
    daemon: TransmissionDaemon,
) -> None:
    secret = "not-the-password-3f9a"
    async with TransmissionClient(daemon.url, daemon.username, secret, timeout=3.0) as tr:
        health = await tr.health()
        with pytest.raises(ClientAuthFailed, match="username or password") as raised:
            await tr.items()
    assert not health.ok
    assert health.code == "client_auth_failed"
    assert "refused the username or password" in (health.error or "")
    assert secret not in (health.error or "")
    assert secret not in str(raised.value)

    async with TransmissionClient(daemon.url, daemon.username, daemon.password) as right:
        assert (await right.health()).ok


async def test_an_rpc_older_than_transmission_3_is_refused_by_version() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OldTransmission)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/transmission/rpc"
        async with TransmissionClient(url, timeout=3.0) as tr:
            health = await tr.health()
            with pytest.raises(ClientVersionUnsupported, match=r"2\.94"):
                await tr.items()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert not health.ok
    assert health.code == "client_version_unsupported"
    assert "Transmission 3.00 or later" in (health.error or "")


class _OldTransmission(BaseHTTPRequestHandler):
    """Answers session-get the way Transmission 2.94 (RPC 15) does, session id dance included."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("X-Transmission-Session-Id") != "s1":
            self.send_response(409)
            self.send_header("X-Transmission-Session-Id", "s1")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps(
            {
                "result": "success",
                "arguments": {"version": "2.94 (d8e60ee44f)", "rpc-version": 15},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


# -- adding ------------------------------------------------------------------------------


async def test_add_paused_torrent_then_resume(
    client: TransmissionClient, tmp_path: Path, dest: Path, outside: transmission_rpc.Client
) -> None:
    seed = payload(tmp_path / "seed")
    ref = await client.add(AddRequest(1, "film.torrent", dest, torrent=seed.torrent, paused=True))
    assert ref == seed.info_hash

    item = await wait_item(client, ref, status_is(Status.PAUSED), "paused")
    assert item.name == "film.bin"
    assert item.total_bytes == seed.path.stat().st_size
    assert item.downloaded_bytes == 0
    assert item.progress == 0.0
    assert item.save_path == str(dest)
    assert item.eta is None
    assert item.raw["hashString"] == ref
    assert held(outside)[ref]["labels"] == ["haul"]

    await client.resume(ref)
    item = await wait_item(client, ref, status_is(Status.DOWNLOADING), "downloading")
    assert item.downloaded_bytes == 0  # nobody to download from

    await client.pause(ref)
    await wait_item(client, ref, status_is(Status.PAUSED), "paused again")


async def test_add_magnet_without_peers_downloads_and_waits_for_metadata(
    client: TransmissionClient, dest: Path
) -> None:
    info_hash = os.urandom(20).hex()
    magnet = f"magnet:?xt=urn:btih:{info_hash.upper()}&dn=nobody+seeds+this"
    ref = await client.add(AddRequest(2, magnet, dest))
    assert ref == info_hash

    item = await wait_item(client, ref, status_is(Status.DOWNLOADING), "downloading")
    assert item.total_bytes is None
    assert item.progress is None
    assert item.message == "waiting for peers to send the torrent's metadata"
    assert await client.files(ref) == ()


async def test_items_are_keyed_by_hash_and_only_haul_s_are_listed(
    client: TransmissionClient, tmp_path: Path, dest: Path, outside: transmission_rpc.Client
) -> None:
    mine = payload(tmp_path / "mine")
    theirs = payload(tmp_path / "theirs")
    ref = await client.add(AddRequest(3, "x", dest, torrent=mine.torrent, paused=True))
    outside.add_torrent(theirs.torrent, paused=True, download_dir=str(tmp_path / "user"))

    assert set(held(outside)) == {mine.info_hash, theirs.info_hash}
    everything = await client.items()  # all of haul's: by its label
    assert list(everything) == [ref]
    assert everything[ref].ref == ref == mine.info_hash
    assert list(await client.items([ref.upper(), "not-a-hash"])) == [ref]
    assert await client.items([]) == {}
    with pytest.raises(ClientItemNotFound, match="holds no torrent"):
        await client.pause("0" * 40)


async def test_a_torrent_haul_recorded_is_haul_s_without_its_label(
    client: TransmissionClient, tmp_path: Path, dest: Path, outside: transmission_rpc.Client
) -> None:
    mine = payload(tmp_path / "mine")
    ref = await client.add(AddRequest(3, "x", dest, torrent=mine.torrent, paused=True))
    outside.change_torrent(ref, labels=[])  # lost in a crash before the daemon saved it
    assert await client.items() == {}
    assert list(await client.items([ref])) == [ref]  # asked by the hash haul recorded
    [torrent] = outside.get_torrents([ref], arguments=["hashString", "labels"])
    assert torrent.labels == ["haul"]  # and given its label back
    assert list(await client.items()) == [ref]
    outside.change_torrent(ref, labels=[])
    await client.remove(ref, delete_data=False)
    assert held(outside) == {}


async def test_adding_haul_s_own_torrent_again_gives_the_same_hash(
    client: TransmissionClient, tmp_path: Path, dest: Path, outside: transmission_rpc.Client
) -> None:
    seed = payload(tmp_path / "seed")
    first = await client.add(AddRequest(4, "x", dest, torrent=seed.torrent, paused=True))
    again = await client.add(AddRequest(4, "x", dest, torrent=seed.torrent, paused=True))
    by_magnet = await client.add(AddRequest(4, f"magnet:?xt=urn:btih:{first}", dest))
    assert first == again == by_magnet == seed.info_hash
    assert list(held(outside)) == [first]


async def test_a_torrent_held_outside_haul_is_refused_and_left_alone(
    client: TransmissionClient, tmp_path: Path, dest: Path, outside: transmission_rpc.Client
) -> None:
    seed = payload(tmp_path / "seed")
    user_dir = tmp_path / "user"
    outside.add_torrent(seed.torrent, paused=True, download_dir=str(user_dir))

    with pytest.raises(ClientRefused, match="outside haul; haul will not take it over"):
        await client.add(AddRequest(5, "x", dest, torrent=seed.torrent))
    with pytest.raises(ClientRefused):
        await client.add(AddRequest(5, f"magnet:?xt=urn:btih:{seed.info_hash}", dest))

    after = held(outside)[seed.info_hash]
    assert after["labels"] == []
    assert after["downloadDir"] == str(user_dir)
    assert await client.items() == {}


async def test_a_torrent_survives_a_daemon_restart_by_hash(tmp_path: Path, dest: Path) -> None:
    seed = payload(tmp_path / "seed")
    with transmission_daemon(tmp_path / "transmission") as first:
        async with TransmissionClient(first.url, first.username, first.password) as tr:
            ref = await tr.add(AddRequest(6, "x", dest, torrent=seed.torrent, paused=True))
            await wait_item(tr, ref, status_is(Status.PAUSED), "paused")
    with transmission_daemon(tmp_path / "transmission") as second:
        async with TransmissionClient(second.url, second.username, second.password) as tr:
            item = (await tr.items())[ref]
            assert item.status is Status.PAUSED
            assert item.save_path == str(dest)


# -- seeding and removing ----------------------------------------------------------------


async def test_add_at_the_data_s_folder_checks_then_seeds(
    client: TransmissionClient, tmp_path: Path
) -> None:
    seed = payload(tmp_path / "library", name="Show S01")  # a folder of two files
    ref = await client.add(AddRequest(7, "x", seed.path.parent, torrent=seed.torrent))

    item = await wait_item(client, ref, status_is(Status.SEEDING), "seeding")
    assert item.progress == 1.0
    assert item.total_bytes == item.downloaded_bytes == 256 * 1024 + 1000
    assert item.message is None
    assert item.ratio == 0.0  # nothing uploaded yet
    assert item.seeding_seconds is not None
    assert sorted(await client.files(ref)) == [
        str(seed.path / "episode.mkv"),
        str(seed.path / "extras" / "notes.txt"),
    ]

    await client.pause(ref)
    item = await wait_item(client, ref, status_is(Status.COMPLETED), "stopped with all data")
    assert item.progress == 1.0


async def test_remove_keeps_or_deletes_the_data(
    client: TransmissionClient, tmp_path: Path, outside: transmission_rpc.Client
) -> None:
    kept = payload(tmp_path / "kept")
    gone = payload(tmp_path / "gone", name="Film")
    keep_ref = await client.add(AddRequest(8, "x", kept.path.parent, torrent=kept.torrent))
    gone_ref = await client.add(AddRequest(9, "x", gone.path.parent, torrent=gone.torrent))
    for ref in (keep_ref, gone_ref):
        await wait_item(client, ref, status_is(Status.SEEDING), "seeding")

    digest = sha256(kept.path)
    await client.remove(keep_ref, delete_data=False)
    await client.remove(gone_ref, delete_data=True)

    await wait_true(lambda: not gone.path.exists(), "the deleted torrent's folder gone")
    assert held(outside) == {}
    assert await client.items() == {}
    assert sha256(kept.path) == digest  # still there, whole
    assert (tmp_path / "gone").is_dir()  # only the torrent's own folder went
    with pytest.raises(ClientItemNotFound):
        await client.remove(keep_ref, delete_data=False)


async def test_calls_on_an_unknown_hash_are_not_found(client: TransmissionClient) -> None:
    unknown = "0" * 40
    for call in (client.pause, client.resume, client.files):
        with pytest.raises(ClientItemNotFound, match=f"holds no torrent {unknown}"):
            await call(unknown)
    with pytest.raises(ClientItemNotFound):
        await client.remove(unknown, delete_data=True)
    with pytest.raises(ClientItemNotFound):
        await client.pause("not-a-hash")


# -- a real transfer ---------------------------------------------------------------------


@pytest.fixture
def seeder(tmp_path: Path) -> Iterator[QbitDaemon]:
    with qbittorrent_daemon(tmp_path / "qbittorrent") as running:
        yield running


def seeder_api(daemon: QbitDaemon) -> qbittorrentapi.Client:
    api = daemon.api()
    # TCP only: the daemon has uTP off, and qBittorrent would spend ~4 s trying it first.
    api.app_set_preferences({"bittorrent_protocol": 1})
    return api


async def seed(
    api: qbittorrentapi.Client, data: Payload, peer: str, *, upload_limit: int = 0
) -> None:
    """Seed ``data`` from qBittorrent and have it connect to ``peer`` (Transmission never
    dials a loopback peer, so the seeder must)."""
    api.torrents_add(
        torrent_files=data.torrent, save_path=str(data.path.parent), upload_limit=upload_limit
    )

    def seeding() -> bool:
        found = api.torrents_info(torrent_hashes=data.info_hash)
        return bool(found) and qbittorrentapi.TorrentState(found[0]["state"]).is_uploading

    await wait_true(seeding, "seeding in qBittorrent")
    api.torrents_add_peers(peers=peer, torrent_hashes=data.info_hash)


async def test_a_real_transfer_from_qbittorrent_with_pause_and_resume(
    client: TransmissionClient,
    daemon: TransmissionDaemon,
    seeder: QbitDaemon,
    tmp_path: Path,
    dest: Path,
) -> None:
    data = payload(tmp_path / "seed", size=2 << 20)
    total = data.path.stat().st_size
    api = seeder_api(seeder)
    peer = f"127.0.0.1:{daemon.peer_port}"
    ref = await client.add(AddRequest(10, "x", dest, torrent=data.torrent))
    await seed(api, data, peer, upload_limit=256 * 1024)  # slow, to catch it mid-way

    moving = await wait_item(
        client, ref, lambda i: 0 < i.downloaded_bytes < total, "moving", FLOW_DEADLINE
    )
    assert moving.status is Status.DOWNLOADING
    assert moving.progress is not None and 0 < moving.progress < 1

    await client.pause(ref)
    paused = await wait_item(client, ref, status_is(Status.PAUSED), "paused")
    await wait_true(
        lambda: not api.sync_torrent_peers(torrent_hash=data.info_hash)["peers"],
        "the seeder disconnected",
    )
    paused = (await client.items([ref]))[ref]
    await asyncio.sleep(0.3)  # a window in which nothing may move (not a wait for anything)
    still = (await client.items([ref]))[ref]
    assert still.status is Status.PAUSED
    assert still.downloaded_bytes == paused.downloaded_bytes < total

    await client.resume(ref)
    await wait_item(client, ref, status_is(Status.DOWNLOADING), "downloading again")
    # Transmission does not dial the seeder back, and qBittorrent waits long before it
    # reconnects to a peer that hung up: seed afresh (no rate limit) and connect again.
    api.torrents_delete(delete_files=False, torrent_hashes=data.info_hash)
    await wait_true(lambda: not api.torrents_info(torrent_hashes=data.info_hash), "unseeded")
    await seed(api, data, peer)

    done = await wait_item(
        client,
        ref,
        lambda i: i.status in (Status.SEEDING, Status.COMPLETED),
        "complete",
        FLOW_DEADLINE,
    )
    assert done.progress == 1.0
    assert done.downloaded_bytes == done.total_bytes == total
    assert await client.files(ref) == (str(dest / "film.bin"),)
    assert sha256(dest / "film.bin") == sha256(data.path)
