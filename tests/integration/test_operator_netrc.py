"""The operator's ``~/.netrc`` is never sent for a download: haul fetches URLs that anyone
using it gives, and the operator's logins are not theirs (a ``default`` entry would even go to
every host). The HTTP engine, its probe and yt-dlp are checked against an origin that records
every Authorization header it receives. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from haul.settings import Settings
from tests.conftest import App
from tests.integration.test_api_downloads import finished, submit
from tests.support import media
from tests.support.fixtures import MediaFiles
from tests.support.origin import Origin


@pytest.fixture
async def operator_app(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[App]:
    """The app started by an operator whose home holds a .netrc with a login for every host."""
    home = tmp_path / "home"
    home.mkdir()
    netrc = home / ".netrc"
    netrc.write_text(
        "machine 127.0.0.1 login operator password s3cret\ndefault login operator password s3cret\n"
    )
    netrc.chmod(0o600)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("NETRC", raising=False)
    from haul.web.app import create_app

    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            yield App(http, application.state.runtime)


def authorizations(origin: Origin) -> list[str | None]:
    return [r.headers.get("Authorization") for r in origin.requests]


async def test_a_direct_file_is_fetched_without_the_operators_login(
    operator_app: App, origin: Origin
) -> None:
    origin.add_file("/files/a.bin", b"a" * 1000)
    origin.add_file("/get/7", b"b" * 1000, filename="b.bin")
    for path in ("/files/a.bin", "/get/7"):
        done = await finished(operator_app, (await submit(operator_app, origin.url(path)))["id"])
        assert done["status"] == "completed", done
    assert len(origin.requests) >= 2
    assert authorizations(origin) == [None] * len(origin.requests)


async def test_a_page_is_fetched_by_ytdlp_without_the_operators_login(
    operator_app: App, origin: Origin, media_files: MediaFiles
) -> None:
    origin.add_file("/media/clip.mp4", media_files.mp4, content_type="video/mp4")
    origin.add_page("/watch/clip", media.page_with_video(origin.url("/media/clip.mp4")))
    done = await finished(
        operator_app, (await submit(operator_app, origin.url("/watch/clip")))["id"]
    )
    assert done["status"] == "completed", done
    assert {r.path for r in origin.requests} >= {"/watch/clip", "/media/clip.mp4"}
    assert authorizations(origin) == [None] * len(origin.requests)


async def test_credentials_in_the_url_are_still_sent(operator_app: App, origin: Origin) -> None:
    origin.add_file("/files/c.bin", b"c" * 10)
    url = origin.url("/files/c.bin").replace("http://", "http://me:pw@")
    done = await finished(operator_app, (await submit(operator_app, url))["id"])
    assert done["status"] == "completed", done
    assert "Basic bWU6cHc=" in authorizations(origin)  # me:pw, the URL's own
