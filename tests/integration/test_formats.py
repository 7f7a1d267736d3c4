"""Listing the formats a page offers and downloading the one chosen, against real yt-dlp and
ffmpeg on media made at test time: an HLS master playlist with two variants, a page with a
video, served on loopback (allowed where private addresses are, the single-user default)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from haul.settings import Settings
from tests.conftest import App
from tests.integration.test_api_downloads import finished, submit
from tests.integration.test_library import files_of
from tests.integration.test_site_cookies import cookies_txt
from tests.support import media
from tests.support.fixtures import MediaFiles
from tests.support.origin import Origin
from tests.support.server import free_port

COOKIE = "members-only-4c1d"
PRIVATE = r"(127\.0\.0\.1|::1), a private or loopback address, which this instance does not allow"


@contextlib.asynccontextmanager
async def running(settings: Settings, **changes: Any) -> AsyncIterator[App]:
    from haul.web.app import create_app

    application = create_app(settings.model_copy(update=changes))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            yield App(http, application.state.runtime)


@pytest.fixture(scope="module")
def variants(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of an HLS master playlist with a 320x240 and a 160x120 variant."""
    folder = tmp_path_factory.mktemp("variants")
    media.make_hls_variants(folder)
    return folder


@pytest.fixture
def master(origin: Origin, variants: Path) -> str:
    origin.add_dir("/hls", variants)
    return origin.url("/hls/master.m3u8")


async def formats_of(app: App, url: str) -> httpx.Response:
    return await app.get("/formats", params={"url": url})


async def test_the_formats_of_an_hls_master_playlist_are_listed(app: App, master: str) -> None:
    response = await formats_of(app, master)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["url"] == master
    assert page["title"] == "master"
    assert page["duration"] == pytest.approx(4, abs=0.5)
    shown = {f["id"]: f for f in page["formats"]}
    assert set(shown) == {"150", "300"}
    assert (shown["300"]["width"], shown["300"]["height"]) == (320, 240)
    assert (shown["150"]["width"], shown["150"]["height"]) == (160, 120)
    for listed in shown.values():
        assert listed["kind"] == "video+audio"
        assert listed["ext"] == "mp4" and listed["protocol"] == "m3u8_native"
        assert listed["vcodec"].startswith("avc1") and listed["acodec"].startswith("mp4a")
    assert shown["300"]["tbr"] == 300


async def test_a_listing_is_kept_so_the_page_is_read_once(
    app: App, origin: Origin, media_files: MediaFiles
) -> None:
    origin.add_file("/media/a.mp4", media_files.mp4, "video/mp4")
    origin.add_page("/watch/one", media.page_with_video(origin.url("/media/a.mp4")))
    first = await formats_of(app, origin.url("/watch/one"))
    again = await formats_of(app, origin.url("/watch/one"))
    assert first.status_code == again.status_code == 200, first.text
    assert first.json() == again.json()
    assert [f["id"] for f in first.json()["formats"]]  # the page's one video is a format
    assert len(origin.requests_for("/watch/one")) == 1


async def test_a_page_behind_a_sign_in_is_listed_with_the_owners_site_cookies(
    app: App, origin: Origin, media_files: MediaFiles
) -> None:
    origin.add_file("/media/a.mp4", media_files.mp4, "video/mp4")
    origin.add_page("/watch/members", media.page_with_video(origin.url("/media/a.mp4")))
    origin.require_cookie("/watch/members", f"sid={COOKIE}")
    without = await formats_of(app, origin.url("/watch/members"))
    assert without.status_code == 422, without.text
    assert "403" in without.json()["detail"]
    uploaded = await app.post("/cookies", json={"cookies_txt": cookies_txt(COOKIE)})
    assert uploaded.status_code == 201, uploaded.text
    with_them = await formats_of(app, origin.url("/watch/members"))
    assert with_them.status_code == 200, with_them.text
    assert with_them.json()["formats"]
    assert COOKIE not in with_them.text


async def test_the_chosen_format_is_the_one_downloaded(app: App, master: str) -> None:
    item = await submit(app, master, format="150")
    assert item["format"] == "150"
    done = await finished(app, item["id"])
    assert done["status"] == "completed", done
    assert done["format"] == "150"
    [video] = await files_of(app, item["id"])
    assert (video["width"], video["height"]) == (160, 120)
    assert video["video_codec"] == "h264"


async def test_without_a_choice_the_profile_picks_the_best(app: App, master: str) -> None:
    item = await submit(app, master)
    assert item["format"] is None
    done = await finished(app, item["id"])
    assert done["status"] == "completed", done
    [video] = await files_of(app, item["id"])
    assert (video["width"], video["height"]) == (320, 240)


async def test_audio_chosen_for_one_download_gives_an_mp3(
    app: App, origin: Origin, media_files: MediaFiles
) -> None:
    origin.add_file("/media/a.mp4", media_files.mp4, "video/mp4")
    origin.add_page("/watch/song", media.page_with_video(origin.url("/media/a.mp4")))
    item = await submit(app, origin.url("/watch/song"), audio_format="mp3", audio_quality="128K")
    assert (item["audio_format"], item["audio_quality"]) == ("mp3", "128K")
    done = await finished(app, item["id"])
    assert done["status"] == "completed", done
    [song] = await files_of(app, item["id"])
    assert song["file_name"].endswith(".mp3")
    assert song["container"] == "mp3" and song["audio_codec"] == "mp3"
    assert song["video_codec"] is None


async def test_a_playlists_entries_take_its_choice(
    app: App, origin: Origin, media_files: MediaFiles
) -> None:
    origin.add_file("/media/a.mp4", media_files.mp4, "video/mp4")
    origin.add_file("/media/b.mp4", media_files.mp4, "video/mp4")
    two = media.page_with_two_videos(origin.url("/media/a.mp4"), origin.url("/media/b.mp4"))
    origin.add_page("/watch/two", two)
    parent = await submit(app, origin.url("/watch/two"), audio_format="mp3")
    done = await finished(app, parent["id"])
    assert done["status"] == "completed", done
    entries = (await app.get("/downloads", params={"parent_id": parent["id"]})).json()["items"]
    assert [e["audio_format"] for e in entries] == ["mp3", "mp3"]
    for entry in entries:
        [song] = await files_of(app, entry["id"])
        assert song["file_name"].endswith(".mp3") and song["audio_codec"] == "mp3"


async def test_a_direct_file_with_a_format_chosen_goes_to_ytdlp(
    app: App, origin: Origin, media_files: MediaFiles
) -> None:
    origin.add_file("/media/clip.mp4", media_files.mp4, "video/mp4")
    item = await submit(app, origin.url("/media/clip.mp4"), audio_format="mp3")
    done = await finished(app, item["id"])
    assert done["status"] == "completed", done
    [song] = await files_of(app, item["id"])
    assert song["file_name"].endswith(".mp3") and song["audio_codec"] == "mp3"


@pytest.mark.parametrize(
    ("given", "field", "said"),
    [
        ({"format": "b[height<=]"}, "format", "yt-dlp cannot read the format 'b[height<=]'"),
        ({"format": "x" * 501}, "format", "at most 500 characters"),
        ({"audio_format": "mp5"}, "audio_format", "audio_format must be one of: mp3"),
        ({"audio_quality": "192K"}, "audio_quality", "audio_quality needs an audio_format"),
        ({"audio_format": "mp3", "audio_quality": "11"}, "audio_quality", "0 (best) to 10"),
    ],
)
async def test_a_bad_choice_is_refused_with_a_sentence(
    app: App, origin: Origin, given: dict[str, str], field: str, said: str
) -> None:
    response = await app.post("/downloads", json={"url": origin.url("/watch/x"), **given})
    assert response.status_code == 422, response.text
    body = response.json()
    assert said in body["detail"]
    if "errors" in body and isinstance(body["errors"], dict):
        assert field in body["errors"] or "body" in body["errors"] or said in str(body)


async def test_a_format_for_a_magnet_link_is_refused(app: App) -> None:
    magnet = "magnet:?xt=urn:btih:" + "a" * 40
    response = await app.post("/downloads", json={"url": magnet, "format": "best"})
    assert response.status_code == 422, response.text
    assert "a torrent has none" in response.json()["detail"]


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("ftp://example.com/a.mp4", "haul"),
        ("magnet:?xt=urn:btih:" + "a" * 40, "a magnet link or a torrent has none"),
    ],
)
async def test_what_is_not_a_page_is_refused_with_a_sentence(app: App, url: str, said: str) -> None:
    response = await formats_of(app, url)
    assert response.status_code == 422, response.text
    assert said in response.json()["detail"]
    assert response.json()["detail"].endswith(".")


async def test_a_page_without_media_has_no_formats(app: App, origin: Origin) -> None:
    origin.add_page("/about", media.page_without_media())
    response = await formats_of(app, origin.url("/about"))
    assert response.status_code == 422, response.text
    assert response.json() == {
        "detail": f"haul found no video or audio it can download at {origin.url('/about')}.",
        "code": "formats_unavailable",
    }


async def test_a_playlist_is_refused_with_a_sentence(
    app: App, origin: Origin, media_files: MediaFiles
) -> None:
    origin.add_file("/media/a.mp4", media_files.mp4, "video/mp4")
    origin.add_file("/media/b.mp4", media_files.mp4, "video/mp4")
    two = media.page_with_two_videos(origin.url("/media/a.mp4"), origin.url("/media/b.mp4"))
    origin.add_page("/watch/two", two)
    response = await formats_of(app, origin.url("/watch/two"))
    assert response.status_code == 422, response.text
    assert "is a playlist of 2 entries" in response.json()["detail"]


async def test_private_addresses_are_refused_where_not_allowed(
    settings: Settings, origin: Origin, master: str
) -> None:
    async with running(settings, allow_private_addresses=False) as closed:
        literal = await formats_of(closed, master)
        assert literal.status_code == 422, literal.text
        by_name = await formats_of(closed, master.replace("127.0.0.1", "localhost"))
        assert by_name.status_code == 422, by_name.text
        assert re.fullmatch(
            f"localhost resolves, redirects or links to {PRIVATE}.", by_name.json()["detail"]
        ), by_name.json()
    assert origin.requests == []  # nothing reached the origin


async def test_a_page_that_leads_to_a_private_address_is_refused(
    settings: Settings, origin: Origin, media_files: MediaFiles
) -> None:
    """The page is on a name the guard allows only as far as its answer: its video's link
    goes to loopback, which this instance does not allow."""
    origin.add_file("/media/a.mp4", media_files.mp4, "video/mp4")
    origin.add_page("/watch/one", media.page_with_video(origin.url("/media/a.mp4")))
    async with running(settings, allow_private_addresses=False) as closed:
        response = await formats_of(
            closed, origin.url("/watch/one").replace("127.0.0.1", "localhost")
        )
    assert response.status_code == 422, response.text
    assert "private or loopback address" in response.json()["detail"]


async def test_over_the_rate_a_listing_is_refused_with_429(
    settings: Settings, origin: Origin, media_files: MediaFiles
) -> None:
    origin.add_file("/media/a.mp4", media_files.mp4, "video/mp4")
    for name in ("one", "two", "three"):
        origin.add_page(f"/watch/{name}", media.page_with_video(origin.url("/media/a.mp4")))
    async with running(settings, formats_per_minute=2) as limited:
        for name in ("one", "two"):
            response = await formats_of(limited, origin.url(f"/watch/{name}"))
            assert response.status_code == 200, response.text
        again = await formats_of(limited, origin.url("/watch/one"))
        assert again.status_code == 200  # kept: no new listing
        over = await formats_of(limited, origin.url("/watch/three"))
        assert over.status_code == 429, over.text
        assert re.fullmatch(
            r"You listed formats 2 times in the last minute; try again in \d+ s\.",
            over.json()["detail"],
        )
        assert 1 <= int(over.headers["Retry-After"]) <= 60
    assert origin.requests_for("/watch/three") == []


async def test_an_hls_variant_has_an_estimated_size(app: App, master: str) -> None:
    page = (await formats_of(app, master)).json()
    for listed in page["formats"]:
        assert listed["filesize"] is None
        expected = listed["tbr"] * 1000 * page["duration"] / 8
        assert listed["filesize_approx"] == pytest.approx(expected, rel=0.01)


async def test_a_title_hostile_to_a_terminal_is_listed_clean(
    app: App, origin: Origin, media_files: MediaFiles
) -> None:
    origin.add_file("/media/a.mp4", media_files.mp4, "video/mp4")
    hostile = "ansi\x1b[2J\x1b[31mRED\x1b[0m"
    origin.add_page("/watch/ansi", media.page_with_video(origin.url("/media/a.mp4"), title=hostile))
    response = await formats_of(app, origin.url("/watch/ansi"))
    assert response.status_code == 200, response.text
    assert response.json()["title"].startswith("ansiRED")  # yt-dlp may add " (1)"
    assert "\\u001b" not in response.text


async def test_a_format_the_page_does_not_offer_fails_at_once_with_a_sentence(
    app: App, master: str
) -> None:
    item = await submit(app, master, format="955")
    done = await finished(app, item["id"])
    assert done["status"] == "failed", done
    assert done["error_code"] == "format_unavailable"
    assert done["error"] == (
        f"The format '955' is not offered by this page: `haul formats {master}` (or List "
        "formats on the add page) shows what is."
    )


async def test_a_closed_port_is_said_in_a_sentence(app: App) -> None:
    port = free_port()  # nothing listens there
    response = await formats_of(app, f"http://127.0.0.1:{port}/watch")
    assert response.status_code >= 400, response.text
    detail = response.json()["detail"]
    assert detail == f"Could not connect to 127.0.0.1:{port} (connection refused).", detail
