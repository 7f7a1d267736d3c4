"""Thumbnails served by haul: a page's picture fetched once through the address guard and
kept, a library item's frame grabbed from a real video; never another owner's."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import Any

import av
import pytest

from haul.media.frames import picture_of
from haul.settings import Settings
from tests.conftest import App
from tests.integration.test_api_downloads import finished, submit
from tests.support import media
from tests.support.fixtures import MediaFiles
from tests.support.origin import Origin
from tests.support.people import crowd
from tests.support.wait import await_for


def thumbnail_page(origin: Origin, media_files: MediaFiles, name: str, picture: str) -> str:
    """A page at ``/watch/<name>`` whose video has the thumbnail ``picture`` (a path)."""
    origin.add_file("/media/clip.mp4", media_files.mp4, "video/mp4")
    page = media.page_with_metadata(
        origin.url("/media/clip.mp4"),
        title=f"Clip <{name}> & co",
        uploader="Haul Studio",
        thumbnail_url=origin.url(picture),
    )
    origin.add_page(f"/watch/{name}", page)
    return origin.url(f"/watch/{name}")


async def completed_page(app: App, url: str) -> dict[str, Any]:
    item = await submit(app, url)
    done = await finished(app, item["id"])
    assert done["status"] == "completed", done
    return done


async def test_a_download_shows_its_page_thumbnail_fetched_once(
    app: App, origin: Origin, media_files: MediaFiles, tmp_path: Path
) -> None:
    picture = media.make_jpeg(tmp_path / "thumb.jpg")
    origin.add_file("/media/thumb.jpg", picture, "application/octet-stream")  # a lying type
    done = await completed_page(app, thumbnail_page(origin, media_files, "one", "/media/thumb.jpg"))
    address = f"/api/v1/downloads/{done['id']}/thumbnail"
    assert done["thumbnail_url"] == address
    assert origin.url("/media/thumb.jpg") not in str(done)  # the site's address stays inside
    listed = (await app.get("/downloads")).json()["items"]
    assert [i["thumbnail_url"] for i in listed] == [address]

    answers = [await app.http.get(address) for _ in range(3)]
    for answer in answers:
        assert answer.status_code == 200
        assert answer.content == picture.read_bytes()
        assert answer.headers["content-type"] == "image/jpeg"  # from the bytes, not the server
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert "max-age" in answer.headers["cache-control"]
    assert len(origin.requests_for("/media/thumb.jpg")) == 1  # fetched once, then kept

    again = await app.http.get(address, headers={"If-None-Match": answers[0].headers["etag"]})
    assert again.status_code == 304 and again.content == b""

    # Removing the download drops the copy: it is no longer served, and its file is gone.
    assert (await app.http.delete(f"/api/v1/downloads/{done['id']}")).status_code == 200
    assert (await app.http.get(address)).status_code == 404
    assert not list((app.runtime.settings.data_dir / "thumbnails").glob("*.img"))


@pytest.mark.parametrize("kind", ["html", "huge"])
async def test_a_thumbnail_that_is_no_image_is_a_404_asked_for_once(
    app: App, origin: Origin, media_files: MediaFiles, tmp_path: Path, kind: str
) -> None:
    if kind == "html":
        origin.add_page("/media/bad.jpg", "<html><script>alert(1)</script></html>")
    else:
        big = tmp_path / "big.jpg"
        jpeg = media.make_jpeg(tmp_path / "small.jpg").read_bytes()
        big.write_bytes(jpeg + b"\0" * (6 * 1024 * 1024))  # starts as a JPEG, but 6 MB
        origin.add_file("/media/bad.jpg", big, "image/jpeg")
    done = await completed_page(app, thumbnail_page(origin, media_files, kind, "/media/bad.jpg"))
    address = f"/api/v1/downloads/{done['id']}/thumbnail"
    assert done["thumbnail_url"] == address
    for _ in range(3):
        answer = await app.http.get(address)
        assert answer.status_code == 404
        assert "could not be fetched" in answer.json()["detail"]
    assert len(origin.requests_for("/media/bad.jpg")) == 1  # not asked again at each view
    await shows_no_thumbnail(app, done["id"])


async def shows_no_thumbnail(app: App, download_id: int) -> None:
    """Once the fetch failed, the API says null and the pages draw no box."""
    assert (await app.get(f"/downloads/{download_id}")).json()["thumbnail_url"] is None
    listed = (await app.get("/downloads")).json()["items"]
    assert [i["thumbnail_url"] for i in listed if i["id"] == download_id] == [None]
    html = {"Accept": "text/html"}
    detail = await app.http.get(f"/downloads/{download_id}", headers=html)
    assert detail.status_code == 200
    assert 'class="poster"' not in detail.text
    assert f"/api/v1/downloads/{download_id}/thumbnail" not in detail.text
    rows = await app.http.get("/", headers=html)
    assert f"/api/v1/downloads/{download_id}/thumbnail" not in rows.text


async def test_a_thumbnail_at_an_address_haul_never_fetches_is_none_from_the_start(
    app: App, origin: Origin, media_files: MediaFiles
) -> None:
    origin.add_file("/media/clip.mp4", media_files.mp4, "video/mp4")
    page = media.page_with_metadata(
        origin.url("/media/clip.mp4"),
        title="Clip with a poster at a metadata address",
        uploader="Haul Studio",
        thumbnail_url="http://169.254.169.254/latest/poster.jpg",
    )
    origin.add_page("/watch/metadata", page)
    done = await completed_page(app, origin.url("/watch/metadata"))
    assert done["thumbnail_url"] is None  # never kept: no box on any page, not even once
    answer = await app.http.get(f"/api/v1/downloads/{done['id']}/thumbnail")
    assert answer.status_code == 404 and "has no thumbnail" in answer.json()["detail"]
    await shows_no_thumbnail(app, done["id"])


async def test_a_download_without_a_thumbnail_has_none(
    app: App, origin: Origin, media_files: MediaFiles
) -> None:
    origin.add_file("/dl/clip.mp4", media_files.mp4, "video/mp4")
    done = await completed_page(app, origin.url("/dl/clip.mp4"))
    assert done["thumbnail_url"] is None
    answer = await app.http.get(f"/api/v1/downloads/{done['id']}/thumbnail")
    assert answer.status_code == 404 and "has no thumbnail" in answer.json()["detail"]


async def test_another_owner_gets_no_thumbnail(
    settings: Settings, origin: Origin, media_files: MediaFiles, tmp_path: Path
) -> None:
    picture = media.make_jpeg(tmp_path / "thumb.jpg")
    origin.add_file("/media/thumb.jpg", picture, "image/jpeg")
    url = thumbnail_page(origin, media_files, "owned", "/media/thumb.jpg")
    async with crowd(settings, allow_private_addresses=True) as people:
        alice = App(people.alice.http, people.runtime)
        done = await completed_page(alice, url)
        address = f"/api/v1/downloads/{done['id']}/thumbnail"
        assert (await people.bob.http.get(address)).status_code == 404
        assert (await people.nobody.get(address)).status_code == 401
        assert origin.requests_for("/media/thumb.jpg") == []  # nothing fetched for them
        mine = await people.alice.http.get(address)
        assert mine.status_code == 200 and mine.content == picture.read_bytes()
        admin = await people.admin.http.get(address)
        assert admin.status_code == 200


def make_video(dest: Path, width: int, height: int) -> Path:
    """A 3 s H.264 MP4 of the test pattern, ``width`` x ``height``."""
    source = f"testsrc=size={width}x{height}:rate=25:duration=3"
    command = [media.ffmpeg(), "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi"]
    command += ["-i", source, "-c:v", "libx264", "-pix_fmt", "yuv420p", str(dest)]
    subprocess.run(command, check=True, capture_output=True, timeout=60)
    return dest


def decoded_size(data: bytes) -> tuple[int, int]:
    with av.open(io.BytesIO(data), "r") as container:
        frame = next(container.decode(video=0))
        return frame.width, frame.height


async def test_a_library_item_shows_a_frame_of_its_video(
    app: App, origin: Origin, tmp_path: Path
) -> None:
    video = make_video(tmp_path / "film.mp4", 640, 360)
    origin.add_file("/dl/film.mp4", video, "video/mp4")
    created = await app.post("/media", json={"kind": "movie", "title": "Frames <&>", "year": 2001})
    movie = created.json()
    assert movie["thumbnail_url"] is None  # no file yet
    item = await submit(app, origin.url("/dl/film.mp4"), media_id=movie["id"])
    assert (await finished(app, item["id"]))["status"] == "completed"

    async def filed() -> dict[str, Any] | None:
        detail: dict[str, Any] = (await app.get(f"/media/{movie['id']}")).json()
        return detail if detail["thumbnail_url"] else None

    detail: dict[str, Any] = await await_for(filed, 30, what="the film to be filed")
    address = f"/api/v1/media/{movie['id']}/thumbnail"
    assert detail["thumbnail_url"] == address
    listed = (await app.get("/media")).json()["items"]
    assert [i["thumbnail_url"] for i in listed] == [address]

    answer = await app.http.get(address)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "image/jpeg"
    assert decoded_size(answer.content) == (320, 180)
    second = await app.http.get(address)
    assert second.content == answer.content
    assert len(list((app.runtime.settings.data_dir / "thumbnails").glob("*.img"))) == 1


async def test_a_library_item_prefers_its_thumbnail_file(
    app: App, origin: Origin, media_files: MediaFiles, tmp_path: Path
) -> None:
    picture = media.make_jpeg(tmp_path / "thumb.jpg")
    origin.add_file("/media/thumb.jpg", picture, "image/jpeg")
    url = thumbnail_page(origin, media_files, "kept", "/media/thumb.jpg")
    created = await app.post("/profiles", json={"name": "keep", "write_thumbnail": True})
    assert created.status_code == 201, created.text
    movie = (await app.post("/media", json={"kind": "movie", "title": "Kept", "year": 2002})).json()
    item = await submit(app, url, media_id=movie["id"], profile="keep")
    assert (await finished(app, item["id"]))["status"] == "completed"

    async def filed() -> dict[str, Any] | None:
        detail: dict[str, Any] = (await app.get(f"/media/{movie['id']}")).json()
        return detail if detail["thumbnail_url"] else None

    await await_for(filed, 30, what="the film to be filed")
    answer = await app.http.get(f"/api/v1/media/{movie['id']}/thumbnail")
    assert answer.status_code == 200
    assert answer.content == picture.read_bytes()  # the page's picture, kept beside the film


async def test_another_owner_gets_no_library_thumbnail(settings: Settings) -> None:
    async with crowd(settings) as people:
        created = await people.alice.post("/media", json={"kind": "movie", "title": "Hers"})
        address = f"/api/v1/media/{created.json()['id']}/thumbnail"
        assert (await people.bob.http.get(address)).status_code == 404
        assert (await people.alice.http.get(address)).status_code == 404  # no file yet


def test_a_file_with_a_cover_picture_shows_its_cover(tmp_path: Path) -> None:
    video = make_video(tmp_path / "plain.mp4", 640, 360)
    cover = media.make_jpeg(tmp_path / "cover.jpg")
    covered = tmp_path / "covered.mp4"
    command = [media.ffmpeg(), "-nostdin", "-loglevel", "error", "-y", "-i", str(video)]
    command += ["-i", str(cover), "-map", "0", "-map", "1", "-c", "copy"]
    command += ["-disposition:v:1", "attached_pic", str(covered)]
    subprocess.run(command, check=True, capture_output=True, timeout=60)

    assert picture_of(covered) == cover.read_bytes()  # the cover as it is, not a frame
    frame = picture_of(video)
    assert frame is not None and decoded_size(frame) == (320, 180)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\0" * 4096)
    assert picture_of(broken) is None  # the child says no; nothing is made up
