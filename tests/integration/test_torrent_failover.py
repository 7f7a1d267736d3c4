"""Torrents when a torrent client is down: a new torrent goes to another enabled client that
takes it, unless its submitter named the client (real qBittorrent and Transmission; the
preferred qBittorrent is stopped, Transmission runs)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import App
from tests.integration.test_external_torrents import configure, magnet, status_is
from tests.support.qbittorrent import qbittorrent_daemon
from tests.support.transmission import transmission_daemon

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)


@contextlib.asynccontextmanager
async def qbittorrent_down(app: App, tmp_path: Path) -> AsyncIterator[None]:
    """qBittorrent (priority 1, preferred) configured and stopped; Transmission (2) running."""
    with (
        qbittorrent_daemon(tmp_path / "qbit") as qbit,
        transmission_daemon(tmp_path / "transmission") as trans,
    ):
        await configure(app, "qbit", "qbittorrent", qbit, priority=1)
        await configure(app, "trans", "transmission", trans, priority=2)
        qbit.stop()
        yield


async def test_a_torrent_goes_to_the_running_client_when_the_preferred_one_is_down(
    app: App, tmp_path: Path
) -> None:
    async with qbittorrent_down(app, tmp_path):
        created = (await app.post("/downloads", json={"url": magnet()})).json()
        moved = await status_is(app, created["id"], "downloading", timeout=30)
        assert moved["client"] == "trans"
        assert list(await app.runtime.directory.clients["trans"].items()) == [moved["client_ref"]]
        events = (await app.get(f"/downloads/{created['id']}/events")).json()
        [rerouted] = [e for e in events if e["kind"] == "rerouted"]
        assert rerouted["message"] == "qbit cannot be reached; sent to trans"


async def test_a_torrent_for_a_named_client_waits_for_it(app: App, tmp_path: Path) -> None:
    async with qbittorrent_down(app, tmp_path):
        named = (await app.post("/downloads", json={"url": magnet(), "client": "qbit"})).json()
        # one submitted after it, for no client in particular, fails over; the named one not
        other = (await app.post("/downloads", json={"url": magnet()})).json()
        elsewhere = await status_is(app, other["id"], "downloading", timeout=30)
        assert elsewhere["client"] == "trans"
        waiting = (await app.get(f"/downloads/{named['id']}")).json()
        assert waiting["status"] in ("queued", "resolving")  # admitted, waiting for qbit
        assert waiting["client"] == "qbit"
        assert waiting["client_ref"] is None
        assert list(await app.runtime.directory.clients["trans"].items()) == [
            elsewhere["client_ref"]
        ]
        listed = (await app.get("/downloads")).json()
        [health] = [c for c in listed["clients"] if c["name"] == "qbit"]
        assert not health["ok"] and health["error"]
