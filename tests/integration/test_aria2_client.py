"""Aria2Client against a real aria2c started per test, fetching from the test origin."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import signal
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import qbittorrentapi

from haul.clients.aria2.client import Aria2Client, gid_for
from haul.clients.aria2.wire import Aria2RpcError, Aria2Wire
from haul.clients.base import AddRequest, DownloadClient
from haul.core.client_items import ClientItem
from haul.core.status import Status
from haul.core.torrents import parse_torrent
from haul.errors import ClientError, ClientItemNotFound, ClientUnavailable
from tests.support.aria2 import Aria2Daemon, aria2_daemon
from tests.support.origin import Origin
from tests.support.qbittorrent import qbittorrent_daemon
from tests.support.torrents import make_torrent

DEADLINE = 15.0
DATA = os.urandom(1 << 20)
DIGEST = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Aria2Daemon]:
    with aria2_daemon(tmp_path / "aria2") as running:
        yield running


@pytest.fixture
async def client(daemon: Aria2Daemon) -> AsyncIterator[Aria2Client]:
    async with Aria2Client(daemon.url, daemon.secret, timeout=2.0) as aria2:
        yield aria2


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "downloads"


def serve(origin: Origin, path: str = "/file.bin", rate: int | None = None) -> str:
    origin.add_file(path, DATA)
    origin.throttle(path, rate)
    return origin.url(path)


async def wait_item(
    client: Aria2Client, ref: str, check: Callable[[ClientItem], bool], what: str
) -> ClientItem:
    """Poll ``items`` until ``ref`` satisfies ``check``; fail after the deadline."""
    deadline = time.monotonic() + DEADLINE
    item = None
    while True:
        item = (await client.items([ref])).get(ref)
        if item is not None and check(item):
            return item
        if time.monotonic() > deadline:
            raise AssertionError(f"{ref} never became {what} within {DEADLINE} s: {item}")
        await asyncio.sleep(0.02)


async def wait_true(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} within {DEADLINE} s")
        await asyncio.sleep(0.02)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def moving(item: ClientItem) -> bool:
    return item.status is Status.DOWNLOADING and 0 < item.downloaded_bytes < len(DATA)


def done(item: ClientItem) -> bool:
    return item.status is Status.COMPLETED


async def test_it_is_a_download_client_and_healthy(client: Aria2Client) -> None:
    assert isinstance(client, DownloadClient)
    assert client.kind == "aria2"
    health = await client.health()
    assert health.ok and health.version == "1.36.0"


async def test_add_shows_progress_then_completes_with_the_right_bytes(
    client: Aria2Client, origin: Origin, dest: Path
) -> None:
    url = serve(origin, rate=200_000)
    ref = await client.add(AddRequest(download_id=7, url=url, dest_dir=dest))
    assert ref == gid_for(7) == "0000000000000007"

    item = await wait_item(client, ref, moving, "downloading with progress")
    assert item.total_bytes == len(DATA)
    assert item.progress is not None and 0 < item.progress < 1
    assert item.name == "file.bin" and item.save_path == str(dest)

    origin.throttle("/file.bin", None)
    item = await wait_item(client, ref, done, "completed")
    assert item.downloaded_bytes == item.total_bytes == len(DATA)
    assert item.files == (str(dest / "file.bin"),)
    assert sha256(dest / "file.bin") == DIGEST
    assert not (dest / "file.bin.aria2").exists()


async def test_adding_the_same_download_twice_keeps_one_transfer(
    client: Aria2Client, origin: Origin, dest: Path
) -> None:
    url = serve(origin, rate=50_000)
    request = AddRequest(download_id=8, url=url, dest_dir=dest)
    assert await client.add(request) == await client.add(request)
    assert list(await client.items()) == [gid_for(8)]


async def test_a_finished_result_is_replaced_when_added_again(
    client: Aria2Client, origin: Origin, dest: Path
) -> None:
    origin.fault("/gone.bin", "404")
    ref = await client.add(AddRequest(9, origin.url("/gone.bin"), dest))
    await wait_item(client, ref, lambda i: i.status is Status.FAILED, "failed")
    origin.clear_faults()
    origin.add_file("/gone.bin", DATA)
    assert await client.add(AddRequest(9, origin.url("/gone.bin"), dest)) == ref
    await wait_item(client, ref, done, "completed")
    assert sha256(dest / "gone.bin") == DIGEST


async def test_a_missing_file_fails_with_arias_reason(
    client: Aria2Client, origin: Origin, dest: Path
) -> None:
    ref = await client.add(AddRequest(10, origin.url("/nothing-here.bin"), dest))
    item = await wait_item(client, ref, lambda i: i.status is Status.FAILED, "failed")
    assert item.message is not None and "aria2 error 3" in item.message
    assert item.raw["errorCode"] == "3"


async def test_pause_stops_the_bytes_and_resume_completes(
    client: Aria2Client, origin: Origin, dest: Path
) -> None:
    url = serve(origin, rate=100_000)
    ref = await client.add(AddRequest(11, url, dest))
    await wait_item(client, ref, moving, "downloading with progress")

    await client.pause(ref)
    await client.pause(ref)  # pausing a paused item is fine
    paused = await wait_item(client, ref, lambda i: i.status is Status.PAUSED, "paused")
    await wait_true(
        lambda: all(r.finished for r in origin.requests_for("/file.bin")),
        "disconnected from the origin",
    )
    served = origin.bytes_served("/file.bin")
    await asyncio.sleep(0.3)  # a window in which nothing may move (not a wait for anything)
    still = (await client.items([ref]))[ref]
    assert still.status is Status.PAUSED
    assert still.downloaded_bytes == paused.downloaded_bytes < len(DATA)
    assert origin.bytes_served("/file.bin") == served

    origin.throttle("/file.bin", None)
    await client.resume(ref)
    await client.resume(ref)  # resuming a running (or just finished) item is fine too
    await wait_item(client, ref, done, "completed")
    assert sha256(dest / "file.bin") == DIGEST
    assert (origin.requests_for("/file.bin")[-1].range_header or "").startswith("bytes=")


async def test_remove_with_delete_data_removes_file_control_file_and_item(
    client: Aria2Client, origin: Origin, dest: Path
) -> None:
    url = serve(origin, rate=100_000)
    ref = await client.add(AddRequest(12, url, dest))
    await wait_item(client, ref, moving, "downloading with progress")
    await wait_true((dest / "file.bin.aria2").exists, "writing a control file")
    (dest / "keep.txt").write_text("not aria2's")
    await client.remove(ref, delete_data=True)

    assert not (dest / "file.bin").exists()
    assert not (dest / "file.bin.aria2").exists()
    assert (dest / "keep.txt").read_text() == "not aria2's"
    assert await client.items([ref]) == {}
    assert ref not in await client.items()


async def test_remove_without_delete_data_keeps_the_data(
    client: Aria2Client, origin: Origin, dest: Path
) -> None:
    ref = await client.add(AddRequest(13, serve(origin), dest))
    await wait_item(client, ref, done, "completed")
    await client.remove(ref, delete_data=False)
    assert await client.items([ref]) == {}
    assert sha256(dest / "file.bin") == DIGEST


async def test_remove_of_a_running_item_without_delete_data_keeps_partial_data(
    client: Aria2Client, origin: Origin, dest: Path
) -> None:
    ref = await client.add(AddRequest(14, serve(origin, rate=100_000), dest))
    await wait_item(client, ref, moving, "downloading with progress")
    await client.remove(ref, delete_data=False)
    assert await client.items([ref]) == {}
    assert (dest / "file.bin").exists()
    assert (dest / "file.bin.aria2").exists()


async def test_items_leaves_out_refs_aria2_does_not_know(
    client: Aria2Client, origin: Origin, dest: Path
) -> None:
    ref = await client.add(AddRequest(15, serve(origin, rate=50_000), dest, paused=True))
    unknown = gid_for(0xDEADBEEF)
    found = await client.items([unknown, ref])
    assert list(found) == [ref]
    assert found[ref].status is Status.PAUSED
    assert await client.items([unknown]) == {}
    assert await client.items([]) == {}


async def test_calls_on_an_unknown_ref_raise_client_error(client: Aria2Client) -> None:
    unknown = gid_for(0xDEADBEEF)
    for call in (client.pause, client.resume):
        with pytest.raises(ClientError, match="is not found"):
            await call(unknown)
    with pytest.raises(ClientError, match="is not found"):
        await client.remove(unknown, delete_data=True)


async def test_a_wrong_secret_is_a_clear_client_error(daemon: Aria2Daemon) -> None:
    # aria2 answers a bad secret after a deliberate delay of about 2 s: both calls at once.
    async with Aria2Client(daemon.url, "not-the-secret", timeout=6.0) as wrong:
        listing, health = await asyncio.gather(
            wrong.items(), wrong.health(), return_exceptions=True
        )
    assert isinstance(listing, ClientError) and not isinstance(listing, ClientUnavailable)
    assert "rejected the RPC secret" in listing.message
    assert not isinstance(health, BaseException)
    assert not health.ok and health.error is not None and "secret" in health.error


async def test_a_stopped_daemon_is_unavailable(daemon: Aria2Daemon) -> None:
    async with Aria2Client(daemon.url, daemon.secret, timeout=1.0) as aria2:
        assert (await aria2.health()).ok
        daemon.stop()
        started = time.monotonic()
        with pytest.raises(ClientUnavailable, match="refused the connection"):
            await aria2.items()
        assert time.monotonic() - started < 1.0
        health = await aria2.health()
        assert not health.ok and health.error is not None and "127.0.0.1" in health.error


async def test_a_frozen_daemon_is_unavailable_within_the_timeout(daemon: Aria2Daemon) -> None:
    async with Aria2Client(daemon.url, daemon.secret, timeout=0.5) as aria2:
        os.kill(daemon.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            with pytest.raises(ClientUnavailable, match=r"within 0\.5 s"):
                await aria2.items()
            assert time.monotonic() - started < 2.0
        finally:
            os.kill(daemon.pid, signal.SIGCONT)
        assert (await aria2.health()).ok


async def test_a_paused_gid_survives_a_restart_with_the_session_file(
    tmp_path: Path, origin: Origin, dest: Path
) -> None:
    url = serve(origin)
    with aria2_daemon(tmp_path / "first") as first:
        async with Aria2Client(first.url, first.secret, timeout=2.0) as aria2:
            ref = await aria2.add(AddRequest(16, url, dest, paused=True))
            await wait_item(aria2, ref, lambda i: i.status is Status.PAUSED, "paused")
        await wait_true(lambda: f"gid={ref}" in first.session.read_text(), "saved")
        session = first.session

    with aria2_daemon(tmp_path / "second", session=session) as second:
        async with Aria2Client(second.url, second.secret, timeout=2.0) as aria2:
            item = (await aria2.items([ref]))[ref]
            assert item.status is Status.PAUSED
            assert item.save_path == str(dest)
            await aria2.resume(ref)
            await wait_item(aria2, ref, done, "completed")
    assert sha256(dest / "file.bin") == DIGEST


async def test_wire_keeps_arias_code_and_message_and_multicall_errors_in_place(
    daemon: Aria2Daemon,
) -> None:
    unknown = gid_for(0xBAD)
    async with Aria2Wire(daemon.url, daemon.secret, timeout=2.0) as wire:
        with pytest.raises(Aria2RpcError) as caught:
            await wire.tell_status(unknown)
        assert caught.value.aria2_code == 1 and isinstance(caught.value, ClientItemNotFound)
        assert caught.value.aria2_message == f"GID {unknown} is not found"
        assert caught.value.ref == unknown
        version, missing = await wire.multicall(
            [("aria2.getVersion", []), ("aria2.tellStatus", [unknown, ["gid"]])]
        )
        assert version["version"] == "1.36.0"
        assert isinstance(missing, Aria2RpcError) and isinstance(missing, ClientItemNotFound)


async def test_wire_refused_connection_and_a_server_that_is_not_aria2(origin: Origin) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        async with Aria2Wire(f"http://127.0.0.1:{port}/jsonrpc", timeout=1.0) as wire:
            with pytest.raises(ClientUnavailable) as refused:
                await wire.get_version()
    assert refused.value.message == f"aria2 at 127.0.0.1:{port} refused the connection"

    async with Aria2Wire(origin.base_url, timeout=1.0) as wire:
        with pytest.raises(ClientError, match="does not answer like aria2") as caught:
            await wire.get_version()
    assert not isinstance(caught.value, ClientUnavailable)


@dataclass
class Seeded:
    """A file qBittorrent seeds, and its magnet (no tracker: the seeder dials the peer)."""

    api: qbittorrentapi.Client
    data: Path
    info_hash: str

    @property
    def magnet(self) -> str:
        return f"magnet:?xt=urn:btih:{self.info_hash}&dn=film.bin"

    def dial(self, aria2: Aria2Daemon) -> None:
        self.api.torrents_add_peers(
            peers=f"127.0.0.1:{aria2.peer_port}", torrent_hashes=self.info_hash
        )


@contextlib.asynccontextmanager
async def seeded(folder: Path, upload_limit: int) -> AsyncIterator[Seeded]:
    data = folder / "seed" / "film.bin"
    data.parent.mkdir(parents=True)
    data.write_bytes(os.urandom(3 << 20))
    blob = make_torrent(data)
    info_hash = parse_torrent(blob).info_hash
    with qbittorrent_daemon(folder / "qbit") as seeder:
        api = seeder.api()
        api.app_set_preferences({"bittorrent_protocol": 1})  # TCP, as aria2 speaks
        api.torrents_add(torrent_files=blob, save_path=str(data.parent), upload_limit=upload_limit)

        def seeding() -> bool:
            found = api.torrents_info(torrent_hashes=info_hash)
            return bool(found) and qbittorrentapi.TorrentState(found[0]["state"]).is_uploading

        await wait_true(seeding, "seeding in qBittorrent")
        yield Seeded(api, data, info_hash)


def the_files(item: ClientItem) -> bool:
    return item.name == "film.bin"


async def test_a_magnet_is_followed_from_its_metadata_to_its_files(
    client: Aria2Client, daemon: Aria2Daemon, dest: Path, tmp_path: Path
) -> None:
    """aria2 completes a magnet's GID once it has the metadata and goes on under a new GID:
    haul's ref shows, limits, pauses and removes that one."""
    async with seeded(tmp_path, upload_limit=1 << 20) as seed:
        ref = await client.add(AddRequest(9, seed.magnet, dest))
        seed.dial(daemon)
        item = await wait_item(client, ref, the_files, "the torrent's files")
        assert item.status in (Status.DOWNLOADING, Status.SEEDING, Status.COMPLETED)
        follower = str(item.raw["gid"])
        assert follower != ref and item.raw["following"] == ref
        assert list(await client.items()) == [ref]  # listed once, under haul's ref

        await client.set_item_speed_limits({ref: 300_000})
        option = await client.wire.call("aria2.getOption", follower)
        assert option["max-download-limit"] == "300000"
        await client.pause(ref)
        await wait_item(client, ref, lambda i: i.status is Status.PAUSED, "paused")
        await client.resume(ref)
        item = await wait_item(client, ref, lambda i: i.status is Status.SEEDING, "all there")
        assert item.downloaded_bytes == 3 << 20
        assert sha256(dest / "film.bin") == sha256(seed.data)

        await client.remove(ref, delete_data=True)
        assert await client.items() == {}
        assert not (dest / "film.bin").exists()


async def test_a_magnet_goes_on_after_aria2_restarts(tmp_path: Path, dest: Path) -> None:
    """aria2's session keeps a magnet under its own GID (haul's ref), not the one that
    followed it: restarted, aria2 fetches the metadata again and goes on."""
    async with seeded(tmp_path, upload_limit=400_000) as seed:
        with aria2_daemon(tmp_path / "first") as first:
            async with Aria2Client(first.url, first.secret, timeout=2.0) as aria2:
                ref = await aria2.add(AddRequest(12, seed.magnet, dest))
                seed.dial(first)
                await wait_item(aria2, ref, the_files, "the torrent's files")
            await wait_true(lambda: f"gid={ref}" in first.session.read_text(), "saved")
        with aria2_daemon(tmp_path / "second", session=first.session) as second:
            async with Aria2Client(second.url, second.secret, timeout=2.0) as aria2:
                assert ref in await aria2.items([ref])
                seed.dial(second)
                item = await wait_item(
                    aria2, ref, lambda i: i.status is Status.SEEDING, "all there again"
                )
                assert item.name == "film.bin" and item.raw["following"] == ref
    assert sha256(dest / "film.bin") == sha256(seed.data)
