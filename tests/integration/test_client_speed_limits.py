"""The global speed limit passed on to real external clients: aria2c (whose transfer from
the test origin then keeps to it), qbittorrent-nox and transmission-daemon (their own
setting, read back the way a person's own tools see it)."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import qbittorrentapi
import transmission_rpc

from haul.clients.aria2.client import Aria2Client
from haul.clients.base import AddRequest
from haul.clients.qbittorrent.client import QBittorrentClient
from haul.clients.transmission.client import TransmissionClient
from haul.core.status import Status
from haul.worker.client_speeds import ClientSpeeds
from tests.support.aria2 import Aria2Daemon, aria2_daemon
from tests.support.origin import Origin
from tests.support.qbittorrent import QbitDaemon, qbittorrent_daemon
from tests.support.transmission import TransmissionDaemon, transmission_daemon
from tests.support.wait import await_for

MB = 1_000_000


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

    async def done() -> bool:
        item = (await aria2_client.items([ref])).get(ref)
        return item is not None and item.status is Status.COMPLETED

    await await_for(done, 20, what="aria2's transfer to complete")
    measured = 1.5 * MB / (time.monotonic() - began)
    assert measured <= 0.55 * MB, f"aria2 moved {measured / MB:.2f} MB/s under 0.5 MB/s"

    rate[0] = None  # the limit lifted in haul: lifted in aria2
    assert await speeds.apply() == 1
    assert (await aria2_client.wire.get_global_option())["max-overall-download-limit"] == "0"


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
    outside = qbittorrentapi.Client(
        host=qbit.url,
        username=qbit.username,
        password=qbit.password,
        FORCE_SCHEME_FROM_HOST=True,
        DISABLE_LOGGING_DEBUG_OUTPUT=True,
    )
    async with QBittorrentClient(qbit.url, qbit.username, qbit.password) as client:
        rate: list[int | None] = [2 * MB]
        speeds = ClientSpeeds(lambda: {"qbit": client}, lambda: rate[0])
        assert await speeds.apply() == 1
        kept = outside.transfer_download_limit()  # qBittorrent keeps whole KiB/s, below
        assert 2 * MB - 1024 < kept <= 2 * MB
        rate[0] = None
        assert await speeds.apply() == 1
        assert outside.transfer_download_limit() == 0


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
