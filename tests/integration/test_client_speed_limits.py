"""The speed limits passed on to real external clients, the global one and each item's own:
aria2c (whose transfer from the test origin then keeps to it), qbittorrent-nox and
transmission-daemon (their own settings, read back the way a person's own tools see them)."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import transmission_rpc

from haul.clients.aria2.client import Aria2Client
from haul.clients.base import AddRequest
from haul.clients.qbittorrent.client import QBittorrentClient
from haul.clients.transmission.client import TransmissionClient
from haul.core.status import Status
from haul.core.torrents import parse_torrent
from haul.worker.client_speeds import ClientSpeeds
from tests.support.aria2 import Aria2Daemon, aria2_daemon
from tests.support.origin import Origin
from tests.support.qbittorrent import QbitDaemon, qbittorrent_daemon
from tests.support.torrents import make_torrent
from tests.support.transmission import TransmissionDaemon, transmission_daemon
from tests.support.wait import await_for

MB = 1_000_000
#: An info-hash no client holds.
NOBODYS = "ab" * 20


def torrent_of(folder: Path, name: str) -> tuple[bytes, str]:
    """A .torrent of a new file nobody seeds, and its info-hash."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(200_000))
    blob = make_torrent(path)
    return blob, parse_torrent(blob).info_hash


@pytest.fixture
def aria2(tmp_path: Path) -> Iterator[Aria2Daemon]:
    with aria2_daemon(tmp_path / "aria2") as running:
        yield running


@pytest.fixture
async def aria2_client(aria2: Aria2Daemon) -> AsyncIterator[Aria2Client]:
    async with Aria2Client(aria2.url, aria2.secret, timeout=2.0) as client:
        yield client


async def test_aria2_keeps_to_the_global_limit_passed_on(
    aria2_client: Aria2Client, origin: Origin, tmp_path: Path
) -> None:
    rate = [500_000]
    speeds = ClientSpeeds(lambda: {"aria2": aria2_client}, lambda: rate[0])
    assert await speeds.apply() == 1
    options = await aria2_client.wire.get_global_option()
    assert options["max-overall-download-limit"] == "500000"
    assert await speeds.apply() == 0  # unchanged: not sent again

    origin.add_file("/big.bin", os.urandom(3 * MB // 2))
    began = time.monotonic()
    ref = await aria2_client.add(
        AddRequest(download_id=3, url=origin.url("/big.bin"), dest_dir=tmp_path / "out")
    )
    await held_to_half_a_megabyte(aria2_client, ref, began)

    rate[0] = None  # the limit lifted in haul: lifted in aria2
    assert await speeds.apply() == 1
    assert (await aria2_client.wire.get_global_option())["max-overall-download-limit"] == "0"


async def test_aria2_keeps_an_items_own_limit(
    aria2_client: Aria2Client, origin: Origin, tmp_path: Path
) -> None:
    origin.add_file("/own.bin", os.urandom(3 * MB // 2))
    began = time.monotonic()
    request = AddRequest(4, origin.url("/own.bin"), tmp_path / "out", speed_limit=300_000)
    ref = await aria2_client.add(request)  # limited from its start

    async def limit() -> str:
        return str((await aria2_client.wire.call("aria2.getOption", ref))["max-download-limit"])

    assert await limit() == "300000"
    gid_nobody_has = "00000000000000ff"
    await aria2_client.set_item_speed_limits({ref: 500_000, gid_nobody_has: 1000})
    assert await limit() == "500000"
    await held_to_half_a_megabyte(aria2_client, ref, began)
    # aria2 will not change a finished transfer's options: passed over, not an error
    await aria2_client.set_item_speed_limits({ref: 1000})


async def held_to_half_a_megabyte(client: Aria2Client, ref: str, began: float) -> None:
    """Wait for aria2's transfer of 1.5 MB to complete; it took long enough for 0.5 MB/s."""

    async def done() -> bool:
        item = (await client.items([ref])).get(ref)
        return item is not None and item.status is Status.COMPLETED

    await await_for(done, 20, what="aria2's transfer to complete")
    measured = 1.5 * MB / (time.monotonic() - began)
    assert measured <= 0.55 * MB, f"aria2 moved {measured / MB:.2f} MB/s under 0.5 MB/s"


async def test_a_client_haul_never_limited_keeps_its_own_setting(
    aria2_client: Aria2Client,
) -> None:
    await aria2_client.wire.change_global_option({"max-overall-download-limit": "123000"})
    speeds = ClientSpeeds(lambda: {"aria2": aria2_client}, lambda: None)
    assert await speeds.apply() == 0
    options = await aria2_client.wire.get_global_option()
    assert options["max-overall-download-limit"] == "123000"


@pytest.fixture
def qbit(tmp_path: Path) -> Iterator[QbitDaemon]:
    with qbittorrent_daemon(tmp_path / "qbit") as running:
        yield running


async def test_qbittorrent_gets_the_global_limit(qbit: QbitDaemon) -> None:
    outside = qbit.api()
    async with QBittorrentClient(qbit.url, qbit.username, qbit.password) as client:
        rate: list[int | None] = [2 * MB]
        speeds = ClientSpeeds(lambda: {"qbit": client}, lambda: rate[0])
        assert await speeds.apply() == 1
        kept = outside.transfer_download_limit()  # qBittorrent keeps whole KiB/s, below
        assert 2 * MB - 1024 < kept <= 2 * MB
        rate[0] = None
        assert await speeds.apply() == 1
        assert outside.transfer_download_limit() == 0


async def test_qbittorrent_keeps_each_torrents_own_limit(qbit: QbitDaemon, tmp_path: Path) -> None:
    outside = qbit.api()
    async with QBittorrentClient(qbit.url, qbit.username, qbit.password) as client:
        refs = []
        for n, (name, limit) in enumerate((("one.bin", 100_000), ("two.bin", None)), start=1):
            blob, info_hash = torrent_of(tmp_path / "seed", name)
            request = AddRequest(n, "", tmp_path / "out", torrent=blob, speed_limit=limit)
            refs.append(await client.add(request))
            assert refs[-1] == info_hash
        kept = outside.torrents_download_limit(torrent_hashes=refs)
        assert kept[refs[0]] == 100_000 and kept[refs[1]] in (-1, 0)  # limited from the start
        await client.set_item_speed_limits({refs[0]: 300_000, refs[1]: 2 * MB, NOBODYS: 1000})
        kept = outside.torrents_download_limit(torrent_hashes=refs)
        assert dict(kept) == {refs[0]: 300_000, refs[1]: 2 * MB}
        await client.set_item_speed_limits({refs[0]: None, refs[1]: 2 * MB})
        kept = outside.torrents_download_limit(torrent_hashes=refs)
        assert kept[refs[0]] in (-1, 0) and kept[refs[1]] == 2 * MB  # -1 and 0: none


@pytest.fixture
def transmission(tmp_path: Path) -> Iterator[TransmissionDaemon]:
    with transmission_daemon(tmp_path / "transmission") as running:
        yield running


async def test_transmission_gets_the_global_limit(transmission: TransmissionDaemon) -> None:
    daemon = transmission
    async with TransmissionClient(
        daemon.url, daemon.username, daemon.password, timeout=3.0
    ) as client:
        rate: list[int | None] = [1_500_500]
        speeds = ClientSpeeds(lambda: {"transmission": client}, lambda: rate[0])
        assert await speeds.apply() == 1
        with transmission_rpc.Client(
            host=daemon.host, port=daemon.port, username=daemon.username, password=daemon.password
        ) as outside:
            session = outside.get_session()
            assert session.speed_limit_down == 1501  # kB/s, rounded up
            assert session.speed_limit_down_enabled
            rate[0] = None
            assert await speeds.apply() == 1
            assert not outside.get_session().speed_limit_down_enabled


async def test_transmission_keeps_each_torrents_own_limit(
    transmission: TransmissionDaemon, tmp_path: Path
) -> None:
    daemon = transmission
    async with TransmissionClient(
        daemon.url, daemon.username, daemon.password, timeout=3.0
    ) as client:
        blob, info_hash = torrent_of(tmp_path / "seed", "one.bin")
        request = AddRequest(1, "", tmp_path / "out", torrent=blob, speed_limit=200_000)
        # an add cut short after the paused add (before its start) is asked again: the
        # torrent Transmission holds is limited and started then
        await client.add(dataclasses.replace(request, paused=True, speed_limit=None))
        ref = await client.add(request)
        with transmission_rpc.Client(
            host=daemon.host, port=daemon.port, username=daemon.username, password=daemon.password
        ) as outside:
            torrent = outside.get_torrent(info_hash)
            assert torrent.download_limited and torrent.download_limit == 200  # from its start
            await await_for(  # added paused to be limited, then started
                lambda: outside.get_torrent(info_hash).status != "stopped", 10, what="its start"
            )
            await client.set_item_speed_limits({ref: 1_500_500, NOBODYS: 1000})
            torrent = outside.get_torrent(info_hash)
            assert torrent.download_limit == 1500  # kB/s, rounded down
            assert torrent.download_limited
            await client.set_item_speed_limits({ref: None})
            assert not outside.get_torrent(info_hash).download_limited
