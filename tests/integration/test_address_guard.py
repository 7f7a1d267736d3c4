"""The address policy on the address haul connects to: host names, redirects, page links.

Real parts: the suite's origin on 127.0.0.1, real yt-dlp, the IPTV test panel, a webhook
receiver, the app on SQLite and PostgreSQL. The origin is on loopback, so:

* an instance that allows private addresses (as a single-user one does) reaches it, and a
  redirect or a link from it to 169.254.169.254 (link-local, the cloud metadata address,
  always refused) must fail the download at once with ``forbidden_address``; nothing listens
  there, so only a refusal made before connecting is this quick and says this;
* an instance that does not allow them refuses ``http://127.0.0.1...`` at submit, but
  ``http://localhost...`` passes the literal check: the name resolves to a loopback address,
  which the guard must refuse (nothing reaches the origin).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import AsyncIterator, Coroutine
from dataclasses import replace
from typing import Any

import httpx
import pytest
import uvloop

from haul.core import cookies
from haul.engine.base import EngineJob, Profile, StopSignal
from haul.engine.http import HttpEngine
from haul.engine.resolve import resolve
from haul.errors import AddressRefused
from haul.net import guard
from haul.net.guard import AddressPolicy
from haul.net.transport import GuardedTransport
from haul.settings import Settings
from tests.conftest import App
from tests.support import media
from tests.support.aria2 import aria2_daemon
from tests.support.config import configure
from tests.support.fixtures import MediaFiles
from tests.support.origin import Origin
from tests.support.wait import await_for
from tests.support.webhooks import WebhookReceiver
from tests.support.xtream import XtreamServer

OPEN = AddressPolicy(allow_private=True)
CLOSED = AddressPolicy(allow_private=False)
METADATA = "http://169.254.169.254/latest/meta-data/"
LINK_LOCAL = "169.254.169.254, a link-local or cloud metadata address, which haul never fetches"
PRIVATE = r"(127\.0\.0\.1|::1), a private or loopback address, which this instance does not allow"


@contextlib.asynccontextmanager
async def running(settings: Settings, *, allow_private: bool) -> AsyncIterator[App]:
    from haul.web.app import create_app

    application = create_app(settings.model_copy(update={"allow_private_addresses": allow_private}))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            app = App(http, application.state.runtime)
            # Were a refusal taken for a passing failure, its retry would come within a second.
            await configure(app, retry_max_attempts=3, retry_base_delay=0.2)
            yield app


@pytest.fixture
async def open_app(settings: Settings) -> AsyncIterator[App]:
    """An instance that allows private addresses (a single-user one, by default)."""
    async with running(settings, allow_private=True) as app:
        yield app


@pytest.fixture
async def closed_app(settings: Settings) -> AsyncIterator[App]:
    """An instance that does not allow private addresses (accounts or public mode)."""
    async with running(settings, allow_private=False) as app:
        yield app


async def submit(app: App, url: str) -> int:
    response = await app.post("/downloads", json={"url": url})
    assert response.status_code == 201, response.text
    download_id: int = response.json()["id"]
    return download_id


async def failed(app: App, download_id: int) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        item: dict[str, Any] = (await app.get(f"/downloads/{download_id}")).json()
        return item if item["status"] in ("completed", "failed", "canceled") else None

    item = await await_for(done, 30, what=f"download {download_id} to end")
    assert item["status"] == "failed", item
    assert item["error_code"] == "forbidden_address", item
    events = (await app.get(f"/downloads/{download_id}/events")).json()
    assert not [e for e in events if e["kind"] == "retry_scheduled"]  # permanent: not retried
    return item


def localhost(origin: Origin, path: str) -> str:
    return f"http://localhost:{origin.port}{path}"


# -- downloads on an instance that allows private addresses ---------------------------------------


async def test_a_file_that_redirects_to_cloud_metadata_fails_at_once(
    open_app: App, origin: Origin
) -> None:
    origin.add_redirect("/files/report.pdf", METADATA)
    started = time.monotonic()
    item = await failed(open_app, await submit(open_app, origin.url("/files/report.pdf")))
    assert item["error"] == f"The server at 127.0.0.1 redirected to {LINK_LOCAL}."
    assert time.monotonic() - started < 10  # a refusal, not a connect timeout (15 s)
    assert [r.status for r in origin.requests_for("/files/report.pdf")] == [302]


@pytest.mark.parametrize("how", ["redirect", "link"])
async def test_a_page_whose_video_leads_to_cloud_metadata_fails_in_ytdlp(
    open_app: App, origin: Origin, how: str
) -> None:
    video = origin.url("/media/moved.mp4") if how == "redirect" else METADATA + "clip.mp4"
    origin.add_redirect("/media/moved.mp4", METADATA + "clip.mp4")
    origin.add_page("/watch/clip", media.page_with_video(video))
    item = await failed(open_app, await submit(open_app, origin.url("/watch/clip")))
    assert item["error"] == f"The page at 127.0.0.1 led, by a redirect or a link, to {LINK_LOCAL}."
    assert origin.requests_for("/watch/clip")  # the page itself was read: yt-dlp's path


async def test_a_host_name_of_loopback_downloads_where_private_is_allowed(
    open_app: App, origin: Origin
) -> None:
    origin.add_file("/files/a.bin", b"a" * 10_000)
    download_id = await submit(open_app, localhost(origin, "/files/a.bin"))

    async def completed() -> dict[str, Any] | None:
        item: dict[str, Any] = (await open_app.get(f"/downloads/{download_id}")).json()
        return item if item["status"] == "completed" else None

    await await_for(completed, 30, what="the download to complete")


# -- downloads on an instance that does not allow them ------------------------------------------


async def test_a_host_name_of_loopback_is_refused_where_private_is_not_allowed(
    closed_app: App, origin: Origin
) -> None:
    origin.add_file("/files/a.bin", b"a" * 10_000)
    literal = await closed_app.post("/downloads", json={"url": origin.url("/files/a.bin")})
    assert literal.status_code == 422  # the literal check at submit
    item = await failed(closed_app, await submit(closed_app, localhost(origin, "/files/a.bin")))
    assert re.fullmatch(f"localhost resolves or redirects to {PRIVATE}.", item["error"]), item
    assert origin.requests == []  # nothing reached the origin


async def test_download_clients_on_loopback_are_not_checked(closed_app: App, tmp_path: Any) -> None:
    """haul's own calls to a download client are not downloads: aria2 on 127.0.0.1 takes a
    magnet link on an instance that refuses private addresses for downloads."""
    with aria2_daemon(tmp_path / "aria2") as daemon:
        client = {"name": "aria2", "kind": "aria2", "url": daemon.url, "secret": daemon.secret}
        assert (await closed_app.post("/clients", json=client)).status_code == 201
        magnet = f"magnet:?xt=urn:btih:{os.urandom(20).hex()}&dn=guarded"
        download_id = await submit(closed_app, magnet)

        async def handed_over() -> dict[str, Any] | None:
            item: dict[str, Any] = (await closed_app.get(f"/downloads/{download_id}")).json()
            assert item["status"] != "failed", item
            return item if item["client"] == "aria2" and item["client_ref"] else None

        await await_for(handed_over, 20, what="aria2 to hold the magnet")
        deleted = await closed_app.http.delete(f"/api/v1/downloads/{download_id}")
        assert deleted.status_code in (200, 204), deleted.text


async def test_an_iptv_provider_behind_a_private_name_is_refused(
    closed_app: App, xtream: XtreamServer
) -> None:
    panel = {
        "name": "panel",
        "url": f"http://localhost:{xtream.port}",
        "username": xtream.username,
        "password": xtream.password,
    }
    created = await closed_app.post("/iptv/providers", json=panel)
    assert created.status_code == 201, created.text
    browse = await closed_app.get(f"/iptv/providers/{created.json()['id']}/vod")
    assert browse.status_code == 502 and browse.json()["code"] == "forbidden_address"
    detail = browse.json()["detail"]
    said = f"The IPTV provider 'panel' cannot be asked: localhost resolves to {PRIVATE}."
    assert re.fullmatch(said, detail), detail
    tested = (await closed_app.post("/iptv/providers/test", json=panel)).json()
    assert tested["ok"] is False and tested["code"] == "forbidden_address"
    assert xtream.requests == []


async def test_notifications_to_a_private_name_are_refused_and_not_retried(
    closed_app: App,
) -> None:
    with WebhookReceiver() as hooks:
        targets = [
            {"kind": "webhook", "url": f"http://localhost:{hooks.port}/hook"},
            {"kind": "apprise", "url": f"json://localhost:{hooks.port}/apprise"},
        ]
        answers = []
        for target in targets:
            created = await closed_app.post("/notifications", json=target)
            assert created.status_code == 201, created.text
            tested = await closed_app.post(f"/notifications/{created.json()['id']}/test")
            answers.append(tested.json())
        assert hooks.requests == []
    webhook, apprise = answers
    assert webhook["ok"] is False
    assert re.fullmatch(
        f"http://localhost:{hooks.port} cannot be notified: localhost resolves to {PRIVATE}.",
        webhook["error"],
    ), webhook
    assert apprise["ok"] is False
    said = f"json://… cannot be notified: haul does not connect to {PRIVATE}."
    assert re.fullmatch(said, apprise["error"]), apprise


# -- the engines themselves ----------------------------------------------------------------------


def engine_job(url: str, dest: Any) -> EngineJob:
    return EngineJob(download_id=1, url=url, dest_dir=dest, profile=Profile())


async def test_ytdlp_extraction_and_download_are_checked(
    origin: Origin, media_files: MediaFiles, tmp_path: Any
) -> None:
    """yt-dlp runs in threads with its own networking stack: the scope reaches it there."""
    import asyncio

    from haul.engine import ytdlp

    origin.add_file("/media/clip.mp4", media_files.mp4, content_type="video/mp4")
    origin.add_page("/watch/clip", media.page_with_video(origin.url("/media/clip.mp4")))
    page = localhost(origin, "/watch/clip")
    with pytest.raises(AddressRefused) as extracting, guard.watch(CLOSED, page, links=True):
        await asyncio.to_thread(ytdlp.extract, page)
    job = engine_job(page, tmp_path / "work")
    with pytest.raises(AddressRefused) as downloading, guard.watch(CLOSED, page, links=True):
        await asyncio.to_thread(ytdlp.run_download, job, lambda _: None, StopSignal())
    said = f"localhost resolves, redirects or links to {PRIVATE}."
    for caught in (extracting, downloading):
        assert re.fullmatch(said, caught.value.message), caught.value.message
    assert origin.requests == []

    origin.add_redirect("/watch/moved", METADATA)
    moved = origin.url("/watch/moved")
    with pytest.raises(AddressRefused) as redirected, guard.watch(OPEN, moved, links=True):
        await asyncio.to_thread(ytdlp.extract, moved)
    assert redirected.value.message == (
        f"The page at 127.0.0.1 led, by a redirect or a link, to {LINK_LOCAL}."
    )


async def test_the_engine_checks_the_request_not_what_is_done_with_the_answer(
    origin: Origin, tmp_path: Any
) -> None:
    origin.add_file("/files/a.bin", b"a" * 1000)
    engine = HttpEngine(addresses=OPEN)
    during: list[AddressPolicy | None] = []

    async def accept(url: str, status: int, headers: Any) -> bool:
        during.append(guard.active())  # e.g. handing the source to aria2 on loopback
        return True

    try:
        job = replace(engine_job(origin.url("/files/a.bin"), tmp_path), accept=accept)
        result = await engine.run(job, lambda _: None, StopSignal())
    finally:
        await engine.aclose()
    assert result is not None and during == [None]


async def test_the_guarded_httpx_transport_resolves_checks_and_follows(origin: Origin) -> None:
    origin.add_file("/ok", b"fine")
    origin.add_redirect("/start", METADATA)
    async with httpx.AsyncClient(transport=GuardedTransport(OPEN), follow_redirects=True) as http:
        assert (await http.get(localhost(origin, "/ok"))).content == b"fine"
        with pytest.raises(AddressRefused) as redirected:
            await http.get(origin.url("/start"))
        with pytest.raises(AddressRefused):
            await http.get("http://[::ffff:169.254.169.254]/")
    assert guard.reworded(redirected.value, origin.url("/start")).message == (
        f"The server at 127.0.0.1 redirected to {LINK_LOCAL}."
    )
    async with httpx.AsyncClient(transport=GuardedTransport(OPEN), follow_redirects=True) as http:
        with pytest.raises(AddressRefused) as probed:
            await resolve(origin.url("/start"), http)  # a probe words it for its URL
    assert probed.value.message == f"The server at 127.0.0.1 redirected to {LINK_LOCAL}."
    async with httpx.AsyncClient(transport=GuardedTransport(CLOSED)) as http:
        with pytest.raises(AddressRefused) as named:
            await http.get(localhost(origin, "/ok"))
    assert re.fullmatch(f"localhost resolves to {PRIVATE}.", named.value.message)
    assert len(origin.requests_for("/ok")) == 1


def test_both_checks_hold_on_uvloop(origin: Origin, tmp_path: Any) -> None:
    """``haul serve`` runs on uvloop, where httpx connects inside libuv (no audit event)."""
    origin.add_redirect("/start", METADATA)
    origin.add_file("/ok", b"fine")

    async def main() -> list[str]:
        said: list[str] = []
        engine = HttpEngine(addresses=OPEN)
        try:
            with pytest.raises(AddressRefused) as engine_refusal:
                job = engine_job(origin.url("/start"), tmp_path)
                await engine.run(job, lambda _: None, StopSignal())
            said.append(engine_refusal.value.message)
        finally:
            await engine.aclose()
        transport = GuardedTransport(CLOSED)
        async with httpx.AsyncClient(transport=transport) as http:
            with pytest.raises(AddressRefused) as client_refusal:
                await http.get(localhost(origin, "/ok"))
        said.append(client_refusal.value.message)
        return said

    coroutine: Coroutine[Any, Any, list[str]] = main()
    engine_said, client_said = uvloop.run(coroutine)
    assert engine_said == f"The server at 127.0.0.1 redirected to {LINK_LOCAL}."
    assert re.fullmatch(f"localhost resolves to {PRIVATE}.", client_said)
    assert origin.requests_for("/ok") == []


CLIENT_PLACES = [
    ("http://169.254.169.254:6800/jsonrpc", "169.254.169.254 is a link-local or cloud metadata"),
    ("http://[fe80::1]:6800/jsonrpc", "fe80::1 is a link-local or cloud metadata address"),
    ("http://metadata.google.internal/jsonrpc", "metadata.google.internal is a cloud metadata"),
    ("http://[::ffff:169.254.169.254]:80/", "is a link-local or cloud metadata address"),
    ("http://0.0.0.0:6800/jsonrpc", "0.0.0.0 is an unspecified address"),
]


async def test_a_client_cannot_be_at_a_metadata_or_link_local_address(closed_app: App) -> None:
    closed_app.http.cookies.set("haul_csrf", "c" * 43)
    csrf = "c" * 43
    for url, words in CLIENT_PLACES:
        client = {"name": "cloud", "kind": "aria2", "url": url}
        for path in ("/clients", "/clients/test"):
            refused = await closed_app.post(path, json=client)
            assert refused.status_code == 422, (path, url, refused.text)
            assert words in refused.json()["detail"], refused.json()
            assert refused.json()["detail"].endswith("a download client cannot be there.")
        page = await closed_app.http.post(
            "/clients",
            data={"csrf": csrf, "name": "cloud", "kind": "aria2", "url": url},
            headers={"Accept": "text/html"},
        )
        assert page.status_code == 422 and words in page.text, page.text[-2000:]
    listed = (await closed_app.get("/clients")).json()
    assert [c["name"] for c in (listed["items"] if isinstance(listed, dict) else listed)] == []
    # Private and loopback addresses stay allowed: a client usually lives on the LAN.
    lan = {"name": "nas", "kind": "aria2", "url": "http://192.168.1.20:6800/jsonrpc"}
    assert (await closed_app.post("/clients", json=lan)).status_code == 201
    moved = await closed_app.http.patch(
        "/api/v1/clients/nas", json={"url": "http://169.254.169.254/jsonrpc"}
    )
    assert moved.status_code == 422


def test_a_client_host_name_is_judged_by_where_it_leads(monkeypatch: pytest.MonkeyPatch) -> None:
    def lookup(host: str, port: Any, *args: Any) -> list[Any]:
        return [(0, 0, 0, "", ("169.254.169.254", port or 80))]

    monkeypatch.setattr(guard.socket, "getaddrinfo", lookup)
    refusal = guard.judge_host(guard.CLIENT_POLICY, "rebound.example", 80)
    assert refusal is not None and refusal.address == "169.254.169.254"


async def test_a_download_with_site_cookies_is_guarded_all_the_same(
    origin: Origin, tmp_path: Any
) -> None:
    origin.add_redirect("/start", METADATA)
    jar = cookies.merged([cookies.parse("127.0.0.1\tFALSE\t/\tFALSE\t0\tsid\tsecret\n")])
    engine = HttpEngine(addresses=OPEN)
    try:
        job = replace(engine_job(origin.url("/start"), tmp_path), cookies=jar)
        with pytest.raises(AddressRefused) as refused:
            await engine.run(job, lambda _: None, StopSignal())
    finally:
        await engine.aclose()
    assert refused.value.message == f"The server at 127.0.0.1 redirected to {LINK_LOCAL}."
    assert "sid=secret" in origin.requests_for("/start")[0].headers.get("Cookie", "")


async def test_cookies_a_site_sets_stay_with_the_download_that_got_them(
    origin: Origin, tmp_path: Any
) -> None:
    """A site's session cookie follows its own redirect, and reaches no later download."""
    origin.add_file("/files/a.bin", b"a" * 100)
    origin.add_file("/files/b.bin", b"b" * 100)
    target = localhost(origin, "/files/a.bin")
    headers = {"Location": target, "Set-Cookie": "visit=one; Path=/"}
    origin.fault("/login", "status", times=None, status=302, headers=headers)
    engine = HttpEngine(addresses=OPEN)
    try:
        first = engine_job(localhost(origin, "/login"), tmp_path / "1")
        await engine.run(first, lambda _: None, StopSignal())
        second = engine_job(localhost(origin, "/files/b.bin"), tmp_path / "2")
        await engine.run(second, lambda _: None, StopSignal())
    finally:
        await engine.aclose()
    [followed] = origin.requests_for("/files/a.bin")
    [later] = origin.requests_for("/files/b.bin")
    assert followed.headers.get("Cookie") == "visit=one"
    assert "Cookie" not in later.headers
