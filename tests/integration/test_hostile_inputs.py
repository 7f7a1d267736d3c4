"""Hostile input gets a 4xx with a sentence a person understands, and changes nothing.

Each request here is refused; each test compares the row count of every table of the
database before and after (on SQLite and on PostgreSQL, which cannot store a NUL at all).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import App
from tests.support.tables import row_counts
from tests.support.torrents import bencode

HTML = {"Accept": "text/html"}
NUL_SENTENCE = "cannot contain NUL characters"


async def refused(
    app: App, method: str, path: str, status: int, words: str, **kwargs: Any
) -> httpx.Response:
    """Send the request; assert the status, the sentence, and that no table changed."""
    before = await row_counts(app)
    response = await app.http.request(method, path, **kwargs)
    assert response.status_code == status, (path, response.status_code, response.text[:300])
    if response.headers["content-type"].startswith("application/json"):
        detail = response.json()["detail"]
        assert isinstance(detail, str) and detail.endswith((".", ")")), detail
        assert words in detail, detail
    else:
        assert words in response.text, response.text[:2000]
    assert await row_counts(app) == before, f"{method} {path} changed the database"
    return response


# -- sources haul never fetches ---------------------------------------------------------------


SOURCES = [
    (
        "file:///etc/passwd",
        "haul downloads http, https and magnet links; this URL has 'file:'.",
    ),
    ("gopher://example.org/1", "this URL has 'gopher:'."),
    ("ftp://example.org/x.iso", "this URL has 'ftp:'."),
    ("javascript:alert(1)", "this URL has 'javascript:'."),
    (
        "http://169.254.169.254/latest/meta-data/",
        "169.254.169.254 is a link-local, metadata or multicast address, which haul never fetches.",
    ),
    ("http://[fe80::1]/x", "is a link-local, metadata or multicast address"),
    ("http://metadata.google.internal/", "is a cloud metadata service"),
    ("http://0.0.0.0:8680/", "which haul never fetches"),
    ("http://[x", "The URL's host is not valid"),
    ("https://x[/b]/clip.mp4", "The URL's host is not valid"),
]


async def test_schemes_and_addresses_haul_never_fetches(app: App) -> None:
    for url, words in SOURCES:
        await refused(app, "POST", "/api/v1/downloads", 422, words, json={"url": url})
        many = await refused(
            app, "POST", "/api/v1/downloads", 422, words, json={"urls": [url, url]}
        )
        assert [e["url"] for e in many.json()["errors"]] == [url, url]


# -- NUL characters ---------------------------------------------------------------------------


NUL_BODIES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/api/v1/downloads", {"url": "http://example.org/a\u0000b"}),
    ("POST", "/api/v1/downloads", {"urls": ["http://example.org/\u0000"]}),
    ("POST", "/api/v1/downloads", {"url": "http://example.org/a", "title": "t\u0000"}),
    ("POST", "/api/v1/downloads", {"url": "http://example.org/a", "profile": "\u0000"}),
    ("POST", "/api/v1/downloads", {"url": "http://example.org/a", "client": "q\u0000"}),
    ("POST", "/api/v1/downloads", {"url\u0000": "http://example.org/a"}),
    ("POST", "/api/v1/profiles", {"name": "p\u0000"}),
    ("POST", "/api/v1/profiles", {"name": "p", "format": "b\u0000"}),
    ("PATCH", "/api/v1/profiles/audio", {"output_template": "x\u0000.%(ext)s"}),
    (
        "POST",
        "/api/v1/clients",
        {"name": "q\u0000", "kind": "aria2", "url": "http://127.0.0.1:6800/jsonrpc"},
    ),
    ("POST", "/api/v1/media", {"kind": "movie", "title": "The\u0000Matrix", "year": 1999}),
    (
        "POST",
        "/api/v1/iptv/providers",
        {"name": "tv\u0000", "url": "http://127.0.0.1:9", "username": "u", "password": "p"},
    ),
    (
        "POST",
        "/api/v1/notifications",
        {"kind": "webhook", "name": "n\u0000", "url": "https://hooks.example/x"},
    ),
]
NUL_ADDRESSES = [
    "/api/v1/downloads?client=a%00b",
    "/api/v1/downloads?status=%00",
    "/api/v1/logs/errors?domain=a%00",
    "/api/v1/clients/q%00",
    "/api/v1/profiles/a%00b",
    "/api/v1/downloads/1%00/file",
    "/files/a%00b",
]


async def test_nul_characters_in_json_and_addresses_are_refused(app: App) -> None:
    for method, path, body in NUL_BODIES:
        await refused(app, method, path, 422, NUL_SENTENCE, json=body)
    for path in NUL_ADDRESSES:
        await refused(app, "GET", path, 422, NUL_SENTENCE)


async def test_an_unknown_status_of_the_list_is_refused_like_an_unknown_sort(app: App) -> None:
    said = await refused(app, "GET", "/api/v1/downloads?status=bogus", 422, "no status 'bogus'")
    valid = "queued, resolving, downloading, paused, checking, seeding, processing, completed"
    assert valid in said.json()["detail"], said.json()
    await refused(app, "GET", "/api/v1/downloads?status=failed,bogus", 422, "'bogus'")
    await refused(app, "GET", "/api/v1/downloads?sort=bogus", 422, "sort")
    good = await app.http.get("/api/v1/downloads?status=failed,queued&status=completed")
    assert good.status_code == 200, good.text


JSON_TYPES = [
    "application/merge-patch+json",
    "application/vnd.api+json",
    "Application/JSON; charset=utf-8",
    "application/problem+json ; charset=UTF-8",
]


async def test_nul_characters_in_every_json_media_type_are_refused(app: App) -> None:
    # FastAPI reads each of these as JSON, so each must pass the same check
    for kind in JSON_TYPES:
        for method, path, body in NUL_BODIES:
            await refused(
                app,
                method,
                path,
                422,
                NUL_SENTENCE,
                content=json.dumps(body).encode(),
                headers={"Content-Type": kind},
            )


async def test_nul_characters_in_forms_are_refused(app: App, csrf: str) -> None:
    torrent = {"torrent": ("x.torrent", b"d4:infod4:name1:xee", "application/x-bittorrent")}
    for field in ("title", "profile", "client"):
        response = await refused(
            app,
            "POST",
            "/api/v1/downloads/torrent",
            422,
            f"{field} {NUL_SENTENCE}",
            data={field: "a\x00b"},
            files=torrent,
        )
        assert list(response.json()["errors"]) == [field]
    # the add page: sent URL-encoded (by the middleware) and as multipart (by the route)
    await refused(
        app,
        "POST",
        "/add",
        422,
        NUL_SENTENCE,
        data={"csrf": csrf, "urls": "http://example.org/a\x00b"},
        headers=HTML,
    )
    page = await refused(
        app,
        "POST",
        "/add",
        422,
        f"The profile {NUL_SENTENCE}",
        data={"csrf": csrf, "urls": "http://example.org/a", "profile": "a\x00"},
        files={"torrent": ("", b"", "application/octet-stream")},
        headers=HTML,
    )
    assert 'id="profile-error"' in page.text


# -- sizes -------------------------------------------------------------------------------------


async def test_a_10_mb_json_body_is_refused_before_it_is_read(app: App) -> None:
    big = b'{"url": "http://example.org/' + b"a" * 10_000_000 + b'"}'
    response = await refused(
        app,
        "POST",
        "/api/v1/downloads",
        413,
        "The request body is larger than 1 MB, the most haul accepts here.",
        content=big,
        headers={"Content-Type": "application/json"},
    )
    assert response.json()["code"] == "too_large"


async def test_a_body_sent_in_chunks_is_stopped_at_the_limit(app: App) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"url": "http://example.org/'
        for _ in range(100):  # 10 MB, if it were all taken
            sent += 1
            yield b"a" * 100_000
        yield b'"}'

    await refused(
        app,
        "POST",
        "/api/v1/downloads",
        413,
        "larger than 1 MB",
        content=chunks(),
        headers={"Content-Type": "application/json"},
    )
    assert sent < 100  # reading stopped once the limit was passed


async def test_uploads_have_their_own_larger_limit(app: App, csrf: str) -> None:
    # a .torrent of 2 MB passes the general limit and reaches the torrent check
    blob = b"d4:infod4:name1:x6:lengthi-1e" + b"4:junk" + b"2000000:" + b"x" * 2_000_000 + b"ee"
    await refused(
        app,
        "POST",
        "/api/v1/downloads/torrent",
        422,
        "That is not a valid .torrent file",
        files={"torrent": ("x.torrent", blob, "application/x-bittorrent")},
    )
    huge = b"x" * (20 * 1024 * 1024)
    await refused(
        app,
        "POST",
        "/api/v1/downloads/torrent",
        413,
        "The request body is larger than 12 MB, the most haul accepts here.",
        files={"torrent": ("x.torrent", huge, "application/x-bittorrent")},
    )
    # within the upload limit, but larger than any .torrent haul takes
    over = await refused(
        app,
        "POST",
        "/api/v1/downloads/torrent",
        413,
        "The .torrent file is larger than 10 MB.",
        files={"torrent": ("x.torrent", b"x" * (11 * 1024 * 1024), "application/x-bittorrent")},
    )
    assert over.json() == {"detail": "The .torrent file is larger than 10 MB.", "code": "too_large"}
    page = await refused(
        app,
        "POST",
        "/add",
        413,
        "The request body is larger than 12 MB",
        data={"csrf": csrf},
        files={"torrent": ("x.torrent", huge, "application/x-bittorrent")},
        headers=HTML,
    )
    assert page.headers["content-type"].startswith("text/html")
    # anywhere else the general limit holds, uploads or not
    await refused(
        app,
        "POST",
        "/api/v1/media",
        413,
        "larger than 1 MB",
        files={"x": ("x.bin", b"x" * (2 * 1024 * 1024), "application/octet-stream")},
    )


# -- too many links ------------------------------------------------------------------------------


async def test_10000_links_in_one_request_are_refused(app: App, csrf: str) -> None:
    urls = [f"https://example.org/{n}" for n in range(10_000)]
    await refused(
        app,
        "POST",
        "/api/v1/downloads",
        422,
        "at most 1000 links per request; this one has 10000",
        json={"urls": urls},
    )
    page = await refused(
        app,
        "POST",
        "/add",
        422,
        "That is 10000 links; add at most 1000 at a time.",
        data={"csrf": csrf, "urls": "\n".join(urls)},
        headers=HTML,
    )
    assert re.search(r'id="urls-error"', page.text)


# -- names and templates that climb out ---------------------------------------------------------


CLIMBING: list[tuple[str, dict[str, Any], str]] = [
    ("/api/v1/profiles", {"name": "../x"}, "A profile name is"),
    ("/api/v1/profiles", {"name": "p", "output_template": "../../x"}, "stays inside"),
    ("/api/v1/profiles", {"name": "p", "output_template": "/etc/x"}, "stays inside"),
    ("/api/v1/profiles", {"name": "p", "target_dir": "../../x"}, "inside the download"),
    (
        "/api/v1/clients",
        {"name": "../x", "kind": "aria2", "url": "http://127.0.0.1:6800/jsonrpc"},
        "A client's name is 1 to 64 letters",
    ),
    (
        "/api/v1/iptv/providers",
        {"name": "../x", "url": "http://127.0.0.1:9", "username": "u", "password": "p"},
        "A provider's name is 1 to 64 letters",
    ),
]


async def test_names_and_templates_that_climb_out_are_refused(app: App) -> None:
    for path, body, words in CLIMBING:
        await refused(app, "POST", path, 422, words, json=body)


# -- malformed torrents --------------------------------------------------------------------------


def _info(**fields: Any) -> bytes:
    info: dict[str, Any] = {"name": "x", "length": 1, "piece length": 16384, "pieces": b"p" * 20}
    info.update(fields)
    return bencode({"info": {k: v for k, v in info.items() if v is not None}})


MALFORMED = [
    (b"<html>not a torrent</html>", "That is not a valid .torrent file: unexpected b'<'"),
    (_info()[:-7], "That is not a valid .torrent file: "),
    (bencode({"announce": "http://t.example/a"}), "it has no info dictionary."),
    (_info(length=-5), "a file has no valid length."),
    (_info(pieces=b""), "it has no pieces."),
    (_info(pieces=None), "it has no pieces."),
    (_info(length=2**40), "files of 1099511627776 bytes need 67108864"),
    (b"l" * 10_000 + b"e" * 10_000, "nesting too deep"),
    (b"d4:info" + b"l" * 10_000 + b"e" * 10_001, "nesting too deep"),
    (b"d4:infod6:lengthi" + b"9" * 5000 + b"ee", "bad integer"),
    (_info(name="../../../etc"), "would leave its folder."),
    (b"", "The .torrent file is empty."),
]


async def test_malformed_torrents_are_refused(app: App) -> None:
    for blob, words in MALFORMED:
        response = await refused(
            app,
            "POST",
            "/api/v1/downloads/torrent",
            422,
            words,
            files={"torrent": ("bad.torrent", blob, "application/x-bittorrent")},
        )
        assert response.json()["code"] == "invalid_torrent"


@pytest.fixture
async def csrf(app: App) -> str:
    """A CSRF token of the add page (its cookie stays in the app's client)."""
    page = await app.http.get("/add", headers=HTML)
    found = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert found
    return found.group(1)
