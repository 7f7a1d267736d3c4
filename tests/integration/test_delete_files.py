"""Deleting a download's files: each file against the folder it lives in, a library file
never; partial data of a canceled download is never orphaned."""

from __future__ import annotations

import os

from sqlalchemy import select

from haul.store.models import MediaFile
from tests.conftest import App
from tests.integration.test_api_downloads import finished, status_is, submit
from tests.support.fixtures import MediaFiles
from tests.support.folders import work_dir
from tests.support.origin import Origin


async def test_deleting_an_imported_downloads_files_keeps_the_library_and_other_files(
    app: App, origin: Origin, media_files: MediaFiles
) -> None:
    """The film was filed into the library: "delete files" deletes the download's own data
    in the downloads folder, never the library's film, and never another file that happens
    to have the film's library path under the downloads folder."""
    data = media_files.mkv.read_bytes()
    origin.add_file("/dl/film.mkv", data)
    movie = (await app.post("/media", json={"kind": "movie", "title": "Film", "year": 2001})).json()
    done = await finished(
        app, (await submit(app, origin.url("/dl/film.mkv"), media_id=movie["id"]))["id"]
    )
    assert done["status"] == "completed", done
    filed = app.runtime.settings.library_root / "Movies" / "Film (2001)" / "Film (2001).mkv"
    assert filed.read_bytes() == data
    namesake = app.runtime.settings.downloads_root / "Movies" / "Film (2001)" / "Film (2001).mkv"
    namesake.parent.mkdir(parents=True)
    namesake.write_bytes(b"someone else's")

    response = await app.http.delete(
        f"/api/v1/downloads/{done['id']}", params={"delete_files": "true"}
    )

    assert response.status_code == 200, response.text
    assert namesake.read_bytes() == b"someone else's"
    assert filed.read_bytes() == data
    detail = (await app.get(f"/media/{movie['id']}")).json()
    assert [f["file_name"] for f in detail["files"]] == ["Film (2001).mkv"]


async def test_a_finished_downloads_own_files_go_where_they_are(app: App, origin: Origin) -> None:
    data = os.urandom(10_000)
    origin.add_file("/plain.bin", data)
    done = await finished(app, (await submit(app, origin.url("/plain.bin")))["id"])
    path = app.runtime.settings.downloads_root / done["files"][0]["path"]
    assert path.read_bytes() == data

    response = await app.post(f"/downloads/{done['id']}/cancel", json={"delete_files": True})

    assert response.status_code == 200 and response.json()["status"] == "completed"
    assert not path.exists()
    async with app.runtime.db.read() as s:
        assert await s.scalar(select(MediaFile.path).where(MediaFile.download_id == done["id"]))


async def test_a_canceled_downloads_partial_data_goes_when_it_is_removed(
    app: App, origin: Origin
) -> None:
    """Cancel keeps the partial data (a retry resumes from it); removing the canceled
    download with its files deletes it: nothing is left that no download names."""
    origin.add_file("/slow.bin", os.urandom(4 * 1024 * 1024))
    origin.throttle("/slow.bin", 256 * 1024)
    item = await submit(app, origin.url("/slow.bin"))
    await status_is(app, item["id"], "downloading")
    work = work_dir(app, item["id"])

    canceled = await app.post(f"/downloads/{item['id']}/cancel")
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    assert work.exists()

    removed = await app.http.delete(
        f"/api/v1/downloads/{item['id']}", params={"delete_files": "true"}
    )
    assert removed.status_code == 200
    assert not work.exists()
    assert (await app.get(f"/downloads/{item['id']}")).status_code == 404
