"""resolve() against the test origin, real yt-dlp and ffmpeg-made media."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import httpx
import pytest

from haul.engine import ytdlp
from haul.engine.resolve import PlaylistEntry, resolve
from haul.errors import (
    PermanentTransferError,
    TransientTransferError,
    UnsupportedSource,
)
from tests.support import media
from tests.support.fixtures import MediaFiles
from tests.support.origin import Origin


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def site(origin: Origin, media_files: MediaFiles) -> Origin:
    origin.add_file("/media/a.mp4", media_files.mp4, "video/mp4")
    origin.add_file("/media/b.mp4", media_files.mp4, "video/mp4")
    origin.add_dir("/hls", media_files.hls.parent)
    one = media.page_with_video(origin.url("/media/a.mp4"), title="One clip")
    origin.add_page("/watch/one", one)
    two = media.page_with_two_videos(origin.url("/media/a.mp4"), origin.url("/media/b.mp4"))
    origin.add_page("/watch/two", two)
    origin.add_page("/watch/none", media.page_without_media())
    return origin


def no_extraction(url: str) -> ytdlp.Extraction:
    raise AssertionError(f"yt-dlp must not run for {url}")


# -- torrents: no request at all -------------------------------------------------------------


async def test_magnet_is_a_torrent(http: httpx.AsyncClient) -> None:
    url = "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567&dn=Some+Show"
    found = await resolve(url, http, extract=no_extraction)
    assert (found.kind, found.url, found.title) == ("torrent", url, "Some Show")


async def test_torrent_file_url_is_a_torrent_without_a_request(
    site: Origin, http: httpx.AsyncClient
) -> None:
    found = await resolve(site.url("/files/show.torrent"), http, extract=no_extraction)
    assert (found.kind, found.filename) == ("torrent", "show.torrent")
    assert site.requests == []


async def test_bittorrent_content_type_is_a_torrent(site: Origin, http: httpx.AsyncClient) -> None:
    site.add_file("/get/42", b"d4:infod4:name1:xee", "application/x-bittorrent")
    found = await resolve(site.url("/get/42"), http, extract=no_extraction)
    assert found.kind == "torrent"


# -- direct files: one HEAD, no yt-dlp -------------------------------------------------------


async def test_direct_mp4_is_a_file_learned_from_head_alone(
    site: Origin, media_files: MediaFiles, http: httpx.AsyncClient
) -> None:
    found = await resolve(site.url("/media/a.mp4"), http, extract=no_extraction)
    assert found.kind == "file"
    assert found.filename == "a.mp4"
    assert found.size == media_files.mp4.stat().st_size
    assert found.content_type == "video/mp4"
    assert [r.method for r in site.requests] == ["HEAD"]


async def test_content_disposition_names_the_file(site: Origin, http: httpx.AsyncClient) -> None:
    site.add_file("/download/7", b"x" * 100, "application/zip", filename="Nice Name.zip")
    found = await resolve(site.url("/download/7"), http, extract=no_extraction)
    assert (found.kind, found.filename, found.size) == ("file", "Nice Name.zip", 100)


async def test_a_latin_1_content_disposition_names_the_file(
    site: Origin, http: httpx.AsyncClient
) -> None:
    site.add_file(
        "/download/8", b"x", "application/zip", disposition=b"attachment; filename=\xe9t\xe9.zip"
    )
    found = await resolve(site.url("/download/8"), http, extract=no_extraction)
    assert (found.kind, found.filename) == ("file", "été.zip")


async def test_redirect_is_followed_and_named_by_the_target(
    site: Origin, http: httpx.AsyncClient
) -> None:
    site.fault("/go", "status", times=None, status=302, headers={"Location": "/media/b.mp4"})
    found = await resolve(site.url("/go"), http, extract=no_extraction)
    assert (found.kind, found.filename, found.url) == ("file", "b.mp4", site.url("/go"))
    assert [(r.method, r.path) for r in site.requests] == [
        ("HEAD", "/go"),
        ("HEAD", "/media/b.mp4"),
    ]


@pytest.mark.parametrize("refusal", [405, 501])
async def test_refused_head_falls_back_to_a_one_byte_get(
    site: Origin, media_files: MediaFiles, http: httpx.AsyncClient, refusal: int
) -> None:
    site.fault("/media/a.mp4", "status", status=refusal)  # only the first request: the HEAD
    found = await resolve(site.url("/media/a.mp4"), http, extract=no_extraction)
    assert (found.kind, found.filename) == ("file", "a.mp4")
    assert found.size == media_files.mp4.stat().st_size  # from Content-Range
    head, get = site.requests
    assert (head.method, head.status) == ("HEAD", refusal)
    assert (get.method, get.range_header, get.status) == ("GET", "bytes=0-0", 206)
    assert get.bytes_sent <= 1


# -- pages and manifests: yt-dlp -------------------------------------------------------------


async def test_page_with_one_video_is_media(site: Origin, http: httpx.AsyncClient) -> None:
    found = await resolve(site.url("/watch/one"), http)
    assert found.kind == "media"
    assert found.title is not None and "One clip" in found.title
    assert found.content_type == "text/html"
    assert not any(r.path.startswith("/media/") for r in site.requests)


async def test_page_with_two_videos_is_a_playlist(site: Origin, http: httpx.AsyncClient) -> None:
    found = await resolve(site.url("/watch/two"), http)
    assert found.kind == "playlist"
    assert [e.index for e in found.entries] == [1, 2]
    assert all(isinstance(e, PlaylistEntry) and e.title for e in found.entries)


async def test_hls_manifest_goes_to_ytdlp(site: Origin, http: httpx.AsyncClient) -> None:
    seen: list[str] = []

    def extract(url: str) -> ytdlp.Extraction:
        seen.append(url)
        return ytdlp.extract(url)

    url = site.url("/hls/index.m3u8")
    found = await resolve(url, http, extract=extract)
    assert (found.kind, found.content_type) == ("media", "application/vnd.apple.mpegurl")
    assert seen == [url]


async def test_playlist_of_one_entry_is_media(site: Origin, http: httpx.AsyncClient) -> None:
    def extract(url: str) -> ytdlp.Extraction:
        entry = ytdlp.ExtractedEntry(1, "https://example.test/v/1", "Only one")
        return ytdlp.Extraction(kind="playlist", url=url, title="List", entries=(entry,))

    found = await resolve(site.url("/watch/one"), http, extract=extract)
    assert (found.kind, found.title, found.entries) == ("media", "Only one", ())


async def test_page_without_media_is_unsupported(site: Origin, http: httpx.AsyncClient) -> None:
    url = site.url("/watch/none")
    with pytest.raises(UnsupportedSource) as caught:
        await resolve(url, http)
    assert url in caught.value.message


# -- failures --------------------------------------------------------------------------------


async def test_missing_file_is_permanent(site: Origin, http: httpx.AsyncClient) -> None:
    url = site.url("/media/nothing.mp4")
    with pytest.raises(PermanentTransferError) as caught:
        await resolve(url, http, extract=no_extraction)
    assert caught.value.code == "http_404"
    assert caught.value.message == f"The server answered 404 Not Found for {url}."
    assert not caught.value.transient


async def test_server_error_is_transient_with_retry_after(
    site: Origin, http: httpx.AsyncClient
) -> None:
    site.fault("/media/a.mp4", "status", status=503, headers={"Retry-After": "30"})
    with pytest.raises(TransientTransferError) as caught:
        await resolve(site.url("/media/a.mp4"), http, extract=no_extraction)
    # worded and coded as the HTTP engine does (haul.engine.http_errors)
    assert (caught.value.code, caught.value.retry_after) == ("http_503", 30.0)


async def test_too_many_requests_is_transient(site: Origin, http: httpx.AsyncClient) -> None:
    site.fault("/media/a.mp4", "status", status=429)
    with pytest.raises(TransientTransferError) as caught:
        await resolve(site.url("/media/a.mp4"), http, extract=no_extraction)
    assert caught.value.code == "http_429"


async def test_refused_connection_is_transient(http: httpx.AsyncClient) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TransientTransferError) as caught:
        await resolve(f"http://127.0.0.1:{port}/a.mp4", http, extract=no_extraction)
    assert caught.value.code == "connection"


async def test_slow_server_is_a_transient_timeout(site: Origin) -> None:
    site.fault("/media/a.mp4", "slow_headers", delay=2.0)
    async with httpx.AsyncClient(timeout=0.2) as short:
        with pytest.raises(TransientTransferError) as caught:
            await resolve(site.url("/media/a.mp4"), short, extract=no_extraction)
    assert caught.value.code == "timeout"


@pytest.mark.parametrize("url", ["ftp://example.test/a.mp4", "file:///etc/passwd", "a.mp4"])
async def test_other_schemes_are_unsupported(url: str, http: httpx.AsyncClient) -> None:
    with pytest.raises(UnsupportedSource):
        await resolve(url, http, extract=no_extraction)
