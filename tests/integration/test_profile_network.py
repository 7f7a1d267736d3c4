"""A profile's proxy and yt-dlp extractor arguments: checked and shown by the API (the proxy's
credentials never in full), and used by real downloads: a page (yt-dlp) and a direct file (the
HTTP engine) both go through a loopback proxy, which sees the proxy credentials."""

from __future__ import annotations

import asyncio
import base64
import socket
from pathlib import Path
from typing import Any

import pytest

from haul.settings import Settings
from tests.conftest import App
from tests.integration.test_api_downloads import finished, submit
from tests.support import media
from tests.support.fixtures import MediaFiles
from tests.support.origin import Origin
from tests.support.proxy import ForwardingProxy, Seen
from tests.support.wait import await_for

SECRET = "s3cr3t-pass"


async def make(app: App, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    response = await app.post("/profiles", json=body)
    assert response.status_code == status, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def change(app: App, name: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    response = await app.http.patch(f"/api/v1/profiles/{name}", json=body)
    assert response.status_code == status, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_the_proxy_is_shown_masked_and_kept_when_sent_back(app: App) -> None:
    made = await make(app, {"name": "hidden", "proxy": f"http://alice:{SECRET}@proxy.lan:3128"})
    assert made["proxy"] == "http://***@proxy.lan:3128"
    listed = (await app.get("/profiles")).text
    assert SECRET not in listed and "alice" not in listed
    # the form sends the masked value back with another change: the proxy stays as it was
    kept = await change(app, "hidden", {"proxy": made["proxy"], "format": "b"})
    assert kept["proxy"] == made["proxy"] and kept["format"] == "b"
    async with app.runtime.db.read() as s:
        from haul.store.profiles import by_name

        row = await by_name(s, "hidden")
        # Kept sealed with the data folder's key, as site cookies are; shown masked.
        assert row is not None and row.proxy == "http://***@proxy.lan:3128"
        assert row.proxy_sealed is not None
        assert app.runtime.cookies.key.open(row.proxy_sealed).decode() == (
            f"http://alice:{SECRET}@proxy.lan:3128"
        )
    assert (await app.runtime.service.engine_profile(row.id)).proxy == (
        f"http://alice:{SECRET}@proxy.lan:3128"
    )
    cleared = await change(app, "hidden", {"proxy": ""})
    assert cleared["proxy"] is None


async def test_proxy_credentials_are_never_stored_in_clear(app: App, settings: Settings) -> None:
    from tests.integration.test_site_cookies import database_bytes

    await make(app, {"name": "sealed", "proxy": f"http://alice:{SECRET}@proxy.lan:3128"})
    await change(app, "sealed", {"proxy": f"http://bob:{SECRET}-2@proxy.lan:3129"})
    stored = await database_bytes(app, settings)
    assert SECRET.encode() not in stored and b"alice" not in stored and b"bob" not in stored


async def test_proxies_stored_in_clear_before_are_sealed_when_the_server_starts(
    settings: Settings,
) -> None:
    from haul.store.models import Profile
    from haul.store.profiles import by_name
    from tests.integration.test_formats import running

    full = f"http://alice:{SECRET}@proxy.lan:3128"
    async with running(settings) as first, first.runtime.db.write() as s:
        # as revision 0013 left them: in clear
        s.add(Profile(name="old", proxy=full, subtitles=[], extractor_args={}))
        s.add(Profile(name="plain", proxy="http://proxy.lan:3128", subtitles=[]))
    async with running(settings) as again:
        async with again.runtime.db.read() as s:
            old, plain = await by_name(s, "old"), await by_name(s, "plain")
        assert old is not None and plain is not None
        assert old.proxy == "http://***@proxy.lan:3128" and old.proxy_sealed is not None
        assert (plain.proxy, plain.proxy_sealed) == ("http://proxy.lan:3128", None)
        assert (await again.runtime.service.engine_profile(old.id)).proxy == full
        assert (await again.get("/profiles/old")).json()["proxy"] == "http://***@proxy.lan:3128"


async def test_bad_proxies_are_refused_with_a_sentence(app: App) -> None:
    cases = {
        "socks5://proxy.lan:1080": "SOCKS proxies are not supported",
        "ftp://proxy.lan:21": "http:// or https://",
        "http://proxy.lan": "must give its port",
        "http://proxy.lan:3128/path": "without a path",
        "http://proxy.lan:99999": "port is wrong",
        "http://:3128": "must name a host",
    }
    for value, words in cases.items():
        body = await make(app, {"name": "p", "proxy": value}, status=422)
        assert words in body["errors"]["proxy"], (value, body)


@pytest.mark.parametrize(
    ("proxy", "said"),
    [
        ("http://169.254.169.254:80", "169.254.169.254, a link-local or cloud metadata address"),
        ("http://[fe80::1]:3128", "fe80::1, a link-local or cloud metadata address"),
        ("http://0.0.0.0:3128", "0.0.0.0, an unspecified address"),
        ("http://224.0.0.1:3128", "224.0.0.1, a multicast address"),
        # Other spellings of 169.254.169.254 that the resolver reads, and its name.
        ("http://2852039166:80", "2852039166 is at 169.254.169.254, a link-local"),
        ("http://0xa9fea9fe:80", "0xa9fea9fe is at 169.254.169.254, a link-local"),
        ("http://169.254.1:80", "169.254.1 is at 169.254.0.1, a link-local"),
        ("http://metadata.google.internal:80", "a cloud metadata service"),
    ],
)
async def test_a_proxy_at_an_address_haul_never_reaches_is_refused(
    app: App, proxy: str, said: str
) -> None:
    body = await make(app, {"name": "meta", "proxy": proxy}, status=422)
    assert said in body["errors"]["proxy"], body
    assert body["errors"]["proxy"].endswith("give another proxy.")
    await make(app, {"name": "meta", "proxy": "http://proxy.lan:3128"})
    refused = await change(app, "meta", {"proxy": proxy}, status=422)
    assert said in refused["errors"]["proxy"], refused
    assert (await app.get("/profiles/meta")).json()["proxy"] == "http://proxy.lan:3128"


async def test_a_private_proxy_is_taken_only_where_private_addresses_are(
    settings: Settings,
) -> None:
    from tests.integration.test_formats import running

    hosts = ("127.0.0.1", "10.1.2.3", "localhost", "[::1]")
    async with running(settings, allow_private_addresses=False) as closed:
        for host in hosts:
            body = await make(closed, {"name": "lan", "proxy": f"http://{host}:3128"}, 422)
            assert (
                "a private or loopback address, which this instance does not allow"
                in (body["errors"]["proxy"])
            ), body
    async with running(settings, allow_private_addresses=True) as open_:
        for n, host in enumerate(hosts):
            made = await make(open_, {"name": f"lan{n}", "proxy": f"http://{host}:3128"})
            assert made["proxy"] == f"http://{host}:3128"


async def test_extractor_args_in_text_or_json(app: App) -> None:
    text = "youtube:player_client=web,default;po_token=web+A\\,B\ngeneric:impersonate"
    made = await make(app, {"name": "yt", "extractor_args": text})
    assert made["extractor_args"] == {
        "youtube": {"player_client": ["web", "default"], "po_token": ["web+A,B"]},
        "generic": {"impersonate": [""]},
    }
    as_json = await change(app, "yt", {"extractor_args": {"YouTube": {"player-client": "tv"}}})
    assert as_json["extractor_args"] == {"youtube": {"player_client": ["tv"]}}
    cases = {
        "youtube": "not an extractor's arguments",
        '{"youtube": ': "not valid JSON",
        '{"you tube": {"a": ["b"]}}': "is not an extractor name",
        '{"youtube": {"a b": ["c"]}}': "is not an argument name",
        '{"youtube": {"a": [true]}}': "must be a list of texts",
        '{"youtube": []}': "must map argument names",
    }
    for value, words in cases.items():
        body = await change(app, "yt", {"extractor_args": value}, status=422)
        assert words in body["errors"]["extractor_args"], (value, body)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def test_a_page_and_a_direct_file_go_through_the_profiles_proxy(
    app: App, origin: Origin, media_files: MediaFiles
) -> None:
    origin.add_file("/media/a.mp4", media_files.mp4, "video/mp4")
    origin.add_page("/watch/one", media.page_with_video(origin.url("/media/a.mp4")))
    origin.add_file("/files/plain.bin", b"plain bytes" * 1000)
    with ForwardingProxy() as proxy:
        await make(app, {"name": "proxied", "proxy": proxy.url(f"alice:{SECRET}")})
        page = await submit(app, origin.url("/watch/one"), profile="proxied")
        plain = await submit(app, origin.url("/files/plain.bin"), profile="proxied")
        for item in (page, plain):
            done = await finished(app, item["id"])
            assert done["status"] == "completed", done
        seen = proxy.urls()
        assert origin.url("/watch/one") in seen  # the probe and yt-dlp's extraction
        assert origin.url("/media/a.mp4") in seen  # yt-dlp's download
        assert origin.url("/files/plain.bin") in seen  # the HTTP engine
        assert {s.authorization for s in proxy.seen} == {basic("alice", SECRET)}, proxy.seen
        # nothing reached the origin but through the proxy
        assert len(origin.requests) == len(proxy.seen)
    events = (await app.get(f"/downloads/{plain['id']}/events")).text
    assert SECRET not in events


def test_a_dead_proxy_fails_the_download_without_telling_its_password(
    origin: Origin, tmp_path: Path
) -> None:
    import socket

    from haul.engine import ytdlp
    from haul.engine.base import EngineJob, Profile, StopSignal
    from haul.errors import TransferError

    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    proxy = f"http://alice:{SECRET}@127.0.0.1:{port}"
    origin.add_page("/watch/x", "<html><body>nothing</body></html>")
    job = EngineJob(
        download_id=9, url=origin.url("/watch/x"), dest_dir=tmp_path, profile=Profile(proxy=proxy)
    )
    with pytest.raises(TransferError) as failed:
        ytdlp.run_download(job, lambda _: None, StopSignal())
    assert SECRET not in failed.value.message and SECRET not in str(failed.value)
    assert origin.requests == []  # nothing went around the proxy


def test_scrub_masks_the_proxys_login_in_any_text() -> None:
    from haul.core.proxies import scrub

    proxy = f"http://alice:{SECRET}@proxy.lan:3128"
    said = f"Unable to connect to proxy {proxy} (password {SECRET})"
    assert (
        scrub(said, proxy) == "Unable to connect to proxy http://***@proxy.lan:3128 (password ***)"
    )
    assert scrub(said, None) == said


async def test_the_environments_proxy_gets_its_login_on_plain_http_too(
    origin: Origin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from haul.engine.base import EngineJob, StopSignal
    from haul.engine.http import HttpEngine

    origin.add_file("/env.bin", b"e" * 5000)
    with ForwardingProxy() as proxy:
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", proxy.url(f"carol:{SECRET}"))
        engine = HttpEngine()
        try:
            job = EngineJob(download_id=1, url=origin.url("/env.bin"), dest_dir=tmp_path)
            await engine.download(job, lambda _: None, StopSignal())
        finally:
            await engine.aclose()
        assert proxy.seen == [Seen(origin.url("/env.bin"), basic("carol", SECRET))]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then let go)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def failed_with(app: App, download_id: int) -> dict[str, Any]:
    """The download once its first attempt failed (failed, or waiting for a retry)."""

    async def said() -> dict[str, Any] | None:
        item: dict[str, Any] = (await app.get(f"/downloads/{download_id}")).json()
        return item if item["error"] else None

    return await await_for(said, 30, what=f"download {download_id} to fail")


async def test_a_proxy_that_cannot_be_used_is_named_in_the_downloads_error(
    app: App, origin: Origin
) -> None:
    with ForwardingProxy() as plain, ForwardingProxy(login=basic("alice", "right")) as strict:
        cases = {
            "refused": (
                f"http://alice:{SECRET}@127.0.0.1:{closed_port()}",
                "it refused the connection",
            ),
            # an http proxy given as https://: no TLS there
            "scheme": (
                f"https://alice:{SECRET}@127.0.0.1:{plain.port}",
                "secure connection to it failed",
            ),
            "login": (strict.url(f"alice:{SECRET}"), "407 Proxy Authentication Required"),
        }
        for name, (proxy, words) in cases.items():
            await make(app, {"name": name, "proxy": proxy})
            origin.add_file(f"/files/{name}.bin", b"plain bytes" * 1000)
            item = await submit(app, origin.url(f"/files/{name}.bin"), profile=name)
            failed = await failed_with(app, item["id"])
            error = failed["error"]
            where = proxy.rsplit("@", 1)[-1].split("//")[-1]
            assert f"Could not use the proxy {where}: " in error, (name, error)
            assert words in error, (name, error)
            assert "not a valid URL" not in error, (name, error)
            assert SECRET not in error and "alice" not in error, (name, error)
        assert origin.requests == []  # nothing went around the proxies


async def test_yt_dlp_names_the_proxy_it_could_not_use(origin: Origin) -> None:
    from haul.engine.ytdlp import extract
    from haul.errors import TransferError

    origin.add_page("/watch/one", media.page_with_video(origin.url("/media/a.mp4")))
    proxy = f"http://alice:{SECRET}@127.0.0.1:{closed_port()}"
    with pytest.raises(TransferError) as caught:
        await asyncio.to_thread(extract, origin.url("/watch/one"), params={"proxy": proxy})
    error = caught.value
    assert error.code == "proxy_failed", error.message
    assert error.message.startswith(
        f"Could not use the proxy 127.0.0.1:{proxy.rsplit(':', 1)[1]}: "
    )
    assert SECRET not in error.message and "alice" not in error.message
