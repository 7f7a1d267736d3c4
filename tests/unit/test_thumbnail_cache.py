"""The thumbnail folder over a mock transport: one fetch per address, failures remembered,
the folder kept under its cap."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from haul.service.thumbnails import ThumbnailCache

JPEG = b"\xff\xd8\xff\xe0" + b"j" * 1000
PNG = b"\x89PNG\r\n\x1a\n" + b"p" * 1000


def cache(
    tmp_path: Path, bodies: dict[str, bytes], asked: list[str], **kw: float
) -> ThumbnailCache:
    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        body = bodies.get(request.url.path)
        if body is None:
            return httpx.Response(404)
        return httpx.Response(200, content=body, headers={"content-type": "text/html"})

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    return ThumbnailCache(tmp_path / "thumbs", http, **kw)  # type: ignore[arg-type]


async def test_many_pages_at_once_fetch_the_picture_once(tmp_path: Path) -> None:
    asked: list[str] = []
    thumbs = cache(tmp_path, {"/a.jpg": JPEG}, asked)
    found = await asyncio.gather(*(thumbs.remote("http://site/a.jpg") for _ in range(5)))
    assert {f.content_type for f in found if f} == {"image/jpeg"}
    assert all(f is not None and f.read() == JPEG for f in found)
    assert asked == ["/a.jpg"]


async def test_a_failure_is_remembered_not_retried_at_once(tmp_path: Path) -> None:
    asked: list[str] = []
    thumbs = cache(tmp_path, {"/page.jpg": b"<html>nope</html>"}, asked)
    for _ in range(3):
        assert await thumbs.remote("http://site/page.jpg") is None
        assert await thumbs.remote("http://site/gone.jpg") is None
    assert asked == ["/page.jpg", "/gone.jpg"]
    later = cache(tmp_path, {"/gone.jpg": PNG}, asked, retry_after=0)
    found = await later.remote("http://site/gone.jpg")  # asked again once the wait is over
    assert found is not None and found.content_type == "image/png"


async def test_too_big_a_picture_is_not_kept(tmp_path: Path) -> None:
    asked: list[str] = []
    thumbs = cache(tmp_path, {"/big.jpg": JPEG}, asked, max_bytes=500)
    assert await thumbs.remote("http://site/big.jpg") is None
    assert not list((tmp_path / "thumbs").glob("*.img"))


async def test_the_folder_keeps_under_its_cap_the_oldest_going_first(tmp_path: Path) -> None:
    asked: list[str] = []
    bodies = {f"/{n}.jpg": JPEG for n in range(4)}
    thumbs = cache(tmp_path, bodies, asked, cap_bytes=2500)
    for n in range(4):
        assert await thumbs.remote(f"http://site/{n}.jpg") is not None
    assert len(list((tmp_path / "thumbs").glob("*.img"))) == 2
    assert await thumbs.remote("http://site/3.jpg") is not None
    assert asked == ["/0.jpg", "/1.jpg", "/2.jpg", "/3.jpg"]  # the newest still kept


async def test_a_forgotten_copy_is_fetched_again(tmp_path: Path) -> None:
    asked: list[str] = []
    thumbs = cache(tmp_path, {"/a.jpg": JPEG}, asked)
    await thumbs.remote("http://site/a.jpg")
    thumbs.forget("http://site/a.jpg")
    await thumbs.remote("http://site/a.jpg")
    assert asked == ["/a.jpg", "/a.jpg"]
