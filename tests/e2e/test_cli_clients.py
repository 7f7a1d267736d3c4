"""`haul clients ...` and `haul add --client` against a real server and a real aria2c."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.aria2 import aria2_daemon
from tests.support.origin import Origin
from tests.support.server import HaulServer
from tests.support.torrents import make_torrent


def test_cli_configures_tests_and_uses_a_client(
    server: HaulServer, origin: Origin, tmp_path: Path
) -> None:
    data = os.urandom(512 * 1024)
    origin.add_file("/via-aria2.bin", data)
    with aria2_daemon(tmp_path / "aria2") as daemon:
        wrong = server.cli("clients", "add", "a2", "aria2", daemon.url, "--secret", "nope")
        assert wrong.returncode == 1
        assert "rejected the RPC secret" in wrong.stderr
        assert server.api("GET", "/clients").json()["items"] == []  # a failed test saves nothing

        added = server.cli("clients", "add", "a2", "aria2", daemon.url, "--secret", daemon.secret)
        assert added.returncode == 0, added.stderr
        listing = server.cli("clients", "ls")
        assert "a2" in listing.stdout and "aria2" in listing.stdout
        assert daemon.secret not in listing.stdout
        assert server.cli("clients", "test", "a2").returncode == 0

        got = server.cli("add", "--wait", "--client", "a2", origin.url("/via-aria2.bin"))
        assert got.returncode == 0, got.stdout + got.stderr
        assert (server.downloads / "via-aria2.bin").read_bytes() == data
        assert server.api("GET", "/downloads/1").json()["client"] == "a2"

        busy = server.cli("clients", "rm", "nope")
        assert busy.returncode == 1 and "no download client named 'nope'" in busy.stderr
        assert server.cli("clients", "edit", "a2", "--disabled").returncode == 0
        assert server.api("GET", "/clients/a2").json()["enabled"] is False
        assert server.cli("clients", "rm", "a2").returncode == 0


def test_cli_uploads_torrents_and_says_when_no_client_can_take_them(
    server: HaulServer, tmp_path: Path
) -> None:
    payload = tmp_path / "seed.bin"
    payload.write_bytes(os.urandom(100_000))
    torrent = tmp_path / "seed.torrent"
    torrent.write_bytes(make_torrent(payload))
    result = server.cli("add", str(torrent))
    assert result.returncode == 1
    assert "need a torrent client" in result.stderr
    broken = tmp_path / "broken.torrent"
    broken.write_bytes(b"d4:info")
    result = server.cli("add", str(broken))
    assert result.returncode == 1
    assert "not a valid .torrent" in result.stderr
    assert server.api("GET", "/downloads").json()["items"] == []
