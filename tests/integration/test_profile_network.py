"""A profile's proxy and yt-dlp extractor arguments: checked and shown by the API (the proxy's
credentials never in full), and used by real downloads: a page (yt-dlp) and a direct file (the
HTTP engine) both go through a loopback proxy, which sees the proxy credentials."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import App
from tests.integration.test_api_downloads import finished, submit
from tests.support import media
from tests.support.fixtures import MediaFiles
from tests.support.origin import Origin
from tests.support.proxy import ForwardingProxy, Seen

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
        assert row is not None and row.proxy == f"http://alice:{SECRET}@proxy.lan:3128"
    cleared = await change(app, "hidden", {"proxy": ""})
    assert cleared["proxy"] is None


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
