"""DNS rebinding against a real `haul serve`: a page whose name now resolves to 127.0.0.1 gets
no answer from haul, over HTTP or WebSocket, signed file links included; the names haul is
known by still work, and an operator can add one."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.support.origin import Origin
from tests.support.server import HaulServer
from tests.support.wait import wait_for

REBOUND = "rebind.example"


def as_named(server: HaulServer, name: str, method: str, path: str, **kw: object) -> httpx.Response:
    """A request to the server's socket with the ``Host`` (and ``Origin``) a browser sends
    when the page at ``name`` resolves to it: script of that page, same-origin for the browser."""
    site = f"{name}:{server.port}"
    headers = {"Host": site, "Origin": f"http://{site}", "Sec-Fetch-Site": "same-origin"}
    return httpx.request(method, f"{server.url}{path}", headers=headers, timeout=30, **kw)  # type: ignore[arg-type]


def ws_as_named(server: HaulServer, name: str) -> str:
    """The first message of ``/ws`` opened the way a rebound page opens it."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    url = f"ws://{name}:{server.port}/api/v1/ws"
    with connect(url, sock=sock, open_timeout=10, origin=f"http://{name}:{server.port}") as ws:  # type: ignore[arg-type]
        ws.send('{"subscribe": []}')
        return str(ws.recv(timeout=10))


def test_a_rebound_page_reaches_nothing(tmp_path: Path, origin: Origin) -> None:
    origin.add_file("/clip.bin", b"private bytes")
    server = HaulServer(tmp_path / "server").start()
    try:
        done = server.api("POST", "/downloads", json={"url": origin.url("/clip.bin")}).json()
        wait_for(
            lambda: server.api("GET", f"/downloads/{done['id']}").json()["status"] == "completed",
            30,
            what="the download to complete",
        )
        link = server.api("POST", f"/downloads/{done['id']}/link").json()["url"]

        queued = as_named(
            server, REBOUND, "POST", "/api/v1/downloads", json={"url": "http://192.168.1.1/"}
        )
        assert queued.status_code == 400
        message = queued.json()["detail"]
        assert (
            f"'{REBOUND}:{server.port}'" in message and f"HAUL_ALLOWED_HOSTS={REBOUND}" in message
        )
        assert as_named(server, REBOUND, "GET", "/api/v1/downloads").status_code == 400
        assert as_named(server, REBOUND, "GET", link).status_code == 400
        # The first administrator of a single-user haul: the form (and its CSRF token), then
        # the post.
        assert as_named(server, REBOUND, "GET", "/setup").status_code == 400
        evil = {"username": "evil", "password": "x" * 12, "password_again": "x" * 12}
        assert as_named(server, REBOUND, "POST", "/setup", data=evil).status_code == 400
        with pytest.raises(InvalidStatus) as refused:
            ws_as_named(server, REBOUND)
        assert refused.value.response.status_code == 400
        assert b"HAUL_ALLOWED_HOSTS" in refused.value.response.body

        # Nothing happened: still one download and no account (no login asked for); the
        # names haul is known by still work.
        listed = server.api("GET", "/downloads")
        assert listed.status_code == 200, "an account was made: haul now wants a login"
        assert [d["id"] for d in listed.json()["items"]] == [done["id"]]
        for name in ("127.0.0.1", "localhost"):
            assert as_named(server, name, "GET", link).content == b"private bytes"
            assert as_named(server, name, "GET", "/api/v1/downloads").status_code == 200
            assert "subscribed" in ws_as_named(server, name)
    finally:
        server.stop()


def test_an_operator_names_the_host_people_use(tmp_path: Path) -> None:
    server = HaulServer(tmp_path / "server", env={"HAUL_ALLOWED_HOSTS": "nas.lan, media.lan"})
    server.start()
    try:
        assert as_named(server, "nas.lan", "GET", "/api/v1/downloads").status_code == 200
        assert as_named(server, "media.lan", "GET", "/api/v1/downloads").status_code == 200
        assert "subscribed" in ws_as_named(server, "nas.lan")
        assert as_named(server, REBOUND, "GET", "/api/v1/downloads").status_code == 400
    finally:
        server.stop()
