"""Trackers and web seeds of magnet links and .torrent files, checked against the address
policy before a torrent client is made to contact them: literal addresses at submit (a 422
naming the refused one), host names at hand-over (a real aria2, with the suite's origin on
127.0.0.1 playing the tracker: where private addresses are allowed aria2 announces to it;
where they are not, nothing reaches it). Public-mode visitors get no torrents unless allowed."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from haul.settings import Settings
from tests.conftest import App
from tests.integration.test_address_guard import PRIVATE, failed, running, submit
from tests.integration.test_public_mode import public, visitor
from tests.support.aria2 import aria2_daemon
from tests.support.origin import Origin
from tests.support.torrents import make_torrent
from tests.support.wait import await_for

ALWAYS = "a link-local, metadata or multicast address, which haul never lets a client contact"
LOOPBACK = "a private or loopback address, which this instance does not allow"


def magnet(**params: str) -> str:
    extra = "".join(f"&{key}={value}" for key, value in params.items())
    return f"magnet:?xt=urn:btih:{os.urandom(20).hex()}&dn=tracked{extra}"


@contextlib.asynccontextmanager
async def with_aria2(
    settings: Settings, tmp_path: Path, *, allow_private: bool
) -> AsyncIterator[App]:
    """An instance with a real aria2 as its torrent client."""
    with aria2_daemon(tmp_path / "aria2") as daemon:
        async with running(settings, allow_private=allow_private) as app:
            client = {"name": "aria2", "kind": "aria2", "url": daemon.url, "secret": daemon.secret}
            assert (await app.post("/clients", json=client)).status_code == 201
            yield app


@pytest.fixture
async def closed_app(settings: Settings, tmp_path: Path) -> AsyncIterator[App]:
    async with with_aria2(settings, tmp_path, allow_private=False) as app:
        yield app


@pytest.fixture
async def open_app(settings: Settings, tmp_path: Path) -> AsyncIterator[App]:
    async with with_aria2(settings, tmp_path, allow_private=True) as app:
        yield app


async def refused(app: App, url: str) -> str:
    answer = await app.post("/downloads", json={"url": url})
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "forbidden_address"
    detail: str = answer.json()["detail"]
    return detail


async def test_literal_forbidden_trackers_and_seeds_are_refused_at_submit(
    closed_app: App, tmp_path: Path
) -> None:
    tracker = "http://127.0.0.1:6969/announce"
    assert await refused(closed_app, magnet(tr=tracker)) == (
        f"The torrent's tracker {tracker} is {LOOPBACK}."
    )
    seed = "http://169.254.169.254/latest/meta-data/"
    assert (
        await refused(closed_app, magnet(ws=seed)) == f"The torrent's web seed {seed} is {ALWAYS}."
    )
    assert "torrent source" in await refused(closed_app, magnet(xs="http://[::1]/x.torrent"))
    assert "not an http, https or udp URL" in await refused(
        closed_app, magnet(xs="file:///etc/passwd")
    )
    data = tmp_path / "seed.bin"
    data.write_bytes(os.urandom(40_000))
    blob = make_torrent(data, trackers=["http://example.org/announce", "udp://10.0.0.1:80"])
    upload = await closed_app.post(
        "/downloads/torrent", files={"torrent": ("x.torrent", blob, "application/x-bittorrent")}
    )
    assert upload.status_code == 422
    assert upload.json()["detail"] == f"The torrent's tracker udp://10.0.0.1:80 is {LOOPBACK}."
    assert (await closed_app.get("/downloads")).json()["items"] == []  # nothing stored
    # a public tracker is fine; a URN in xs names nothing to contact
    fine = await closed_app.post(
        "/downloads",
        json={
            "url": magnet(tr="udp://tracker.example.org:1337", xs="urn:btpk:abc"),
            "paused": True,
        },
    )
    assert fine.status_code == 201, fine.text


async def test_metadata_addresses_are_refused_where_private_ones_are_allowed(open_app: App) -> None:
    assert "link-local" in await refused(open_app, magnet(tr="http://169.254.169.254/announce"))
    metadata = await refused(open_app, magnet(ws="http://metadata.google.internal/computeMetadata"))
    assert "cloud metadata service" in metadata


async def test_a_tracker_name_that_resolves_to_loopback_is_refused_at_hand_over(
    closed_app: App, origin: Origin
) -> None:
    tracker = f"http://localhost:{origin.port}/announce"
    download_id = await submit(closed_app, magnet(tr=tracker))  # a name passes the literal check
    item = await failed(closed_app, download_id)
    said = f"The torrent's tracker {re.escape(tracker)} resolves to {PRIVATE}\\."
    assert re.fullmatch(said, item["error"]), item
    assert item["client_ref"] is None  # never handed to aria2
    assert origin.requests == []


async def test_where_private_addresses_are_allowed_the_client_announces_to_them(
    open_app: App, origin: Origin
) -> None:
    """The other side of the test above: aria2 really contacts a tracker it is given."""
    download_id = await submit(open_app, magnet(tr=f"http://localhost:{origin.port}/announce"))
    await await_for(lambda: origin.requests_for("/announce"), 30, what="aria2 to announce")
    await open_app.http.delete(f"/api/v1/downloads/{download_id}")


async def test_visitors_get_no_torrents_unless_the_operator_allows_them(
    settings: Settings, tmp_path: Path
) -> None:
    data = tmp_path / "seed.bin"
    data.write_bytes(os.urandom(40_000))
    blob = make_torrent(data)
    async with public(settings) as app, visitor(app) as anna:
        sentence = "Visitors of this instance may not download torrents"
        answer = await anna.post("/api/v1/downloads", json={"url": magnet(), "paused": True})
        assert answer.status_code == 422 and sentence in answer.json()["detail"]
        upload = await anna.post("/api/v1/downloads/torrent", files=torrent_form(blob))
        assert upload.status_code == 422 and sentence in upload.json()["detail"]
        assert (await anna.get("/api/v1/downloads")).json()["items"] == []
    async with public(settings, public_torrents=True) as app, visitor(app) as anna:
        answer = await anna.post("/api/v1/downloads", json={"url": magnet(), "paused": True})
        # allowed: what stops it now is only that no torrent client is configured
        assert answer.status_code == 422
        assert "need a torrent client" in answer.json()["detail"]


def torrent_form(blob: bytes) -> dict[str, Any]:
    return {"torrent": ("x.torrent", blob, "application/x-bittorrent")}
