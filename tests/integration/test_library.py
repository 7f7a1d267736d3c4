"""The media library end to end: probe after completion, import by template, the rules."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from haul.settings import Settings
from tests.conftest import App
from tests.integration.test_api_downloads import finished, submit
from tests.support.fixtures import MediaFiles
from tests.support.origin import Origin
from tests.support.wait import await_for
from tests.support.webhooks import WebhookReceiver


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def create_item(app: App, **body: Any) -> dict[str, Any]:
    response = await app.post("/media", json=body)
    assert response.status_code == 201, response.text
    item: dict[str, Any] = response.json()
    return item


async def files_of(app: App, download_id: int) -> list[dict[str, Any]]:
    response = await app.get(f"/downloads/{download_id}/files")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def history(app: App, download_id: int) -> list[str]:
    response = await app.get(f"/downloads/{download_id}/events")
    return [e["kind"] for e in response.json()]


async def test_every_finished_file_is_probed(
    app: App, origin: Origin, media_files: MediaFiles
) -> None:
    origin.add_file("/v/clip.mp4", media_files.mp4.read_bytes(), content_type="video/mp4")
    origin.add_file("/v/notes.bin", os.urandom(300_000))
    clip = await finished(app, (await submit(app, origin.url("/v/clip.mp4")))["id"])
    junk = await finished(app, (await submit(app, origin.url("/v/notes.bin")))["id"])
    assert clip["status"] == junk["status"] == "completed"

    [probed] = await files_of(app, clip["id"])
    assert probed["file_name"] == "clip.mp4"
    assert probed["is_media"] is True and probed["error"] is None
    assert probed["container"] == "mp4"
    assert probed["video_codec"] == "h264"
    assert (probed["width"], probed["height"]) == (320, 240)
    assert probed["audio_codec"] == "aac" and probed["audio_channels"] == 1  # mono tone
    assert probed["subtitle_languages"] == ["eng"]
    assert probed["youtube_id"] == "dQw4w9WgXcQ"
    assert 9.5 < probed["duration"] < 10.5
    assert probed["size"] == media_files.mp4.stat().st_size
    assert probed["file_exists"] is True
    assert probed["import_mode"] is None  # no media item: nothing is filed

    [other] = await files_of(app, junk["id"])
    assert other["is_media"] is False
    assert other["error"].startswith("not a media file")
    kinds = await history(app, clip["id"])
    assert kinds.index("downloaded") < kinds.index("probed") < kinds.index("completed")


async def test_a_movie_is_filed_by_the_template(
    app: App, origin: Origin, media_files: MediaFiles
) -> None:
    data = media_files.mkv.read_bytes()
    origin.add_file("/dl/matrix.1999.mkv", data)
    movie = await create_item(
        app, kind="movie", title="The Matrix", year=1999, external_ids={"imdb": "tt0133093"}
    )
    item = await submit(app, origin.url("/dl/matrix.1999.mkv"), media_id=movie["id"])
    assert item["media_id"] == movie["id"]
    done = await finished(app, item["id"])
    assert done["status"] == "completed", done

    library = app.runtime.settings.library_root
    filed = library / "Movies" / "The Matrix (1999)" / "The Matrix (1999).mkv"
    assert digest(filed.read_bytes()) == digest(data)
    assert not (
        app.runtime.settings.downloads_root / "matrix.1999.mkv"
    ).exists()  # moved, not copied
    # The download follows its file: fetching it still works.
    fetched = await app.get(f"/downloads/{item['id']}/file")
    assert fetched.status_code == 200 and digest(fetched.content) == digest(data)

    detail = (await app.get(f"/media/{movie['id']}")).json()
    assert detail["download_ids"] == [item["id"]]
    [record] = detail["files"]
    assert record["path"] == str(filed)
    assert record["import_mode"] == "move"
    assert record["original_path"] == "matrix.1999.mkv"
    assert record["video_codec"] == "h264" and record["is_media"] is True
    assert "imported" in await history(app, item["id"])

    # The film has its file now: a second download of it is refused with a reason...
    again = await app.post(
        "/downloads", json={"url": origin.url("/dl/x.mkv"), "media_id": movie["id"]}
    )
    assert again.status_code == 409
    assert "already has its file" in again.json()["detail"]
    # ...unless forced; the second file lands beside the first under a free name.
    origin.add_file("/dl/x.mkv", data[:-1000] + os.urandom(1000))
    forced = await submit(app, origin.url("/dl/x.mkv"), media_id=movie["id"], force=True)
    assert (await finished(app, forced["id"]))["status"] == "completed"
    assert (filed.parent / "The Matrix (1999) (2).mkv").is_file()


async def test_one_download_at_a_time_per_item(app: App, origin: Origin) -> None:
    origin.add_file("/slow.mp4", os.urandom(2_000_000))
    origin.throttle("/slow.mp4", 200_000)
    movie = await create_item(app, kind="movie", title="Slow", year=2001)
    first = await submit(app, origin.url("/slow.mp4"), media_id=movie["id"])
    second = await app.post(
        "/downloads", json={"url": origin.url("/b.mp4"), "media_id": movie["id"]}
    )
    assert second.status_code == 409
    assert f"already being downloaded by download {first['id']}" in second.json()["detail"]
    unknown = await app.post("/downloads", json={"url": origin.url("/b.mp4"), "media_id": 9999})
    assert unknown.status_code == 404
    await app.post(f"/downloads/{first['id']}/cancel", json={"delete_files": True})


async def test_concurrent_submits_for_one_item_store_one_download(app: App) -> None:
    """Twenty submits for one film at the same moment (each passes the read that refuses a
    second download): the submit's own transaction lets exactly one through."""
    movie = await create_item(app, kind="movie", title="Crowded", year=2003)
    answers = await asyncio.gather(
        *(
            app.post(
                "/downloads",
                json={
                    "url": f"http://127.0.0.1:9/f{n}.mkv",
                    "media_id": movie["id"],
                    "paused": True,
                },
            )
            for n in range(20)
        )
    )
    stored = [a for a in answers if a.status_code == 201]
    assert len(stored) == 1, [a.text for a in answers]
    for refused in (a for a in answers if a.status_code != 201):
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "duplicate"
        assert "haul add --force" in refused.json()["detail"]
    forced = await app.post(
        "/downloads",
        json={
            "url": "http://127.0.0.1:9/g.mkv",
            "media_id": movie["id"],
            "paused": True,
            "force": True,
        },
    )
    assert forced.status_code == 201


async def test_attaching_a_finished_download_files_it_as_an_episode(
    app: App, origin: Origin, media_files: MediaFiles
) -> None:
    data = media_files.mp4.read_bytes()
    origin.add_file("/ep/wire.s01e02.mp4", data)
    done = await finished(app, (await submit(app, origin.url("/ep/wire.s01e02.mp4")))["id"])
    series = await create_item(app, kind="series", title="The Wire", year=2002)
    episode = await create_item(
        app, kind="episode", title="The Detail", parent_id=series["id"], season=1, episode=2
    )
    response = await app.post(f"/downloads/{done['id']}/media", json={"media_id": episode["id"]})
    assert response.status_code == 204, response.text

    target = app.runtime.settings.library_root / "Series/The Wire/Season 01/The Wire - S01E02.mp4"
    await await_for(lambda: target.is_file() or None, 20, what="the episode to be filed")
    again = await finished(app, done["id"])
    assert again["status"] == "completed"
    assert digest(target.read_bytes()) == digest(data)
    [record] = await files_of(app, done["id"])
    assert record["media_id"] == episode["id"] and record["path"] == str(target)
    series_detail = (await app.get(f"/media/{series['id']}")).json()
    assert [c["id"] for c in series_detail["children"]] == [episode["id"]]


async def test_hostile_titles_stay_inside_the_library(
    app: App, origin: Origin, media_files: MediaFiles
) -> None:
    origin.add_file("/h.mp4", media_files.mp4.read_bytes())
    movie = await create_item(app, kind="movie", title="../../../etc/cron.d/x", year=2000)
    done = await finished(
        app, (await submit(app, origin.url("/h.mp4"), media_id=movie["id"]))["id"]
    )
    library = app.runtime.settings.library_root
    [record] = await files_of(app, done["id"])
    path = Path(record["path"])
    assert path.is_file()
    assert path.resolve().is_relative_to(library)
    assert path.parent.parent == library / "Movies"


async def test_deleting_an_item_keeps_files_unless_asked(
    app: App, origin: Origin, media_files: MediaFiles
) -> None:
    origin.add_file("/k.mp4", media_files.mp4.read_bytes())
    origin.add_file("/t.mp4", media_files.mp4.read_bytes())
    film = await create_item(app, kind="movie", title="Keep", year=2010)
    trailer = await create_item(app, kind="trailer", title="Keep trailer", parent_id=film["id"])
    a = await finished(app, (await submit(app, origin.url("/k.mp4"), media_id=film["id"]))["id"])
    b = await finished(app, (await submit(app, origin.url("/t.mp4"), media_id=trailer["id"]))["id"])
    [film_file] = await files_of(app, a["id"])
    [trailer_file] = await files_of(app, b["id"])
    assert Path(trailer_file["path"]).name == "Keep (2010)-trailer.mp4"
    assert Path(trailer_file["path"]).parent == Path(film_file["path"]).parent

    response = await app.http.delete(f"/api/v1/media/{film['id']}")
    assert response.status_code == 200 and response.json() == {"files_deleted": 0}
    assert (await app.get(f"/media/{trailer['id']}")).status_code == 404  # cascaded
    assert await files_of(app, a["id"]) == []  # the records went with the item
    assert Path(film_file["path"]).is_file()  # the files did not

    other = await create_item(app, kind="movie", title="Gone", year=2011)
    origin.add_file("/g.mp4", media_files.mp4.read_bytes())
    c = await finished(app, (await submit(app, origin.url("/g.mp4"), media_id=other["id"]))["id"])
    [gone_file] = await files_of(app, c["id"])
    response = await app.http.delete(f"/api/v1/media/{other['id']}?delete_files=true")
    assert response.json() == {"files_deleted": 1}
    assert not Path(gone_file["path"]).exists()


async def test_rescan_keeps_file_exists_true(app: App, origin: Origin) -> None:
    origin.add_file("/r.bin", os.urandom(10_000))
    done = await finished(app, (await submit(app, origin.url("/r.bin")))["id"])
    path = app.runtime.settings.downloads_root / done["files"][0]["path"]
    path.unlink()
    result = (await app.post("/media/rescan")).json()
    assert result["missing"] == 1 and result["checked"] == 1
    [record] = await files_of(app, done["id"])
    assert record["file_exists"] is False
    path.write_bytes(b"back")
    assert (await app.post("/media/rescan")).json() == {"checked": 1, "missing": 0, "back": 1}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"kind": "episode", "title": "E", "season": 1, "episode": 1}, "belongs to a series"),
        ({"kind": "movie", "title": "M", "season": 1}, "Only an episode"),
        ({"kind": "trailer", "title": "T"}, "movie or a series"),
        ({"kind": "movie", "title": "M", "parent_id": 999}, "no media item 999"),
        ({"kind": "movie", "title": "M", "external_ids": {"imdb": "123"}}, "IMDb"),
        ({"kind": "film", "title": "M"}, "kind"),
    ],
)
async def test_bad_media_items_are_refused_with_a_sentence(
    app: App, body: dict[str, Any], words: str
) -> None:
    response = await app.post("/media", json=body)
    assert response.status_code == 422
    assert words in str(response.json()["detail"])
    assert (await app.get("/media")).json()["items"] == []


async def test_browsing_the_library(app: App) -> None:
    show = await create_item(app, kind="series", title="Dark", year=2017)
    for n in (1, 2, 3):
        await create_item(
            app, kind="episode", title=f"E{n}", parent_id=show["id"], season=1, episode=n
        )
    await create_item(app, kind="movie", title="Darkman", year=1990)
    found = (await app.get("/media", params={"q": "dark"})).json()["items"]
    assert [i["title"] for i in found] == ["Dark", "Darkman"]
    page = (await app.get("/media", params={"kind": "episode", "limit": 2})).json()
    assert [i["episode"] for i in page["items"]] == [1, 2]
    rest = (
        await app.get("/media", params={"kind": "episode", "cursor": page["next_cursor"]})
    ).json()
    assert [i["episode"] for i in rest["items"]] == [3] and rest["next_cursor"] is None
    changed = await app.http.patch(f"/api/v1/media/{show['id']}", json={"year": 2018})
    assert changed.status_code == 200 and changed.json()["year"] == 2018


async def test_people_are_told_when_downloads_finish_are_filed_or_fail(
    app: App, origin: Origin, media_files: MediaFiles
) -> None:
    with WebhookReceiver(secret="s3cret-hook") as hooks:
        body = {"kind": "webhook", "url": hooks.url(), "secret": "s3cret-hook"}
        everything = {**body, "name": "all", "events": ["completed", "failed", "imported"]}
        response = await app.post("/notifications", json=everything)
        assert response.status_code == 201, response.text
        movie = await create_item(app, kind="movie", title="Told", year=2020)
        origin.add_file("/told.mp4", media_files.mp4.read_bytes())
        origin.add_file("/gone.mp4", b"", content_type="video/mp4")
        origin.fault("/gone.mp4", "status", times=None, status=404)
        done = await finished(
            app, (await submit(app, origin.url("/told.mp4"), media_id=movie["id"]))["id"]
        )
        lost = await finished(app, (await submit(app, origin.url("/gone.mp4")))["id"])
        assert (done["status"], lost["status"]) == ("completed", "failed")

        def three() -> list[Any]:
            return hooks.requests if len(hooks.requests) >= 3 else []

        got = await await_for(three, 15, what="three notifications")
        by_kind = {r.json["event"]: r for r in got}
        assert set(by_kind) == {"completed", "imported", "failed"}
        assert all(r.signature_ok for r in got)
        assert by_kind["completed"].json["download"]["id"] == done["id"]
        assert by_kind["imported"].json["download"]["library_paths"] == [
            str(app.runtime.settings.library_root / "Movies/Told (2020)/Told (2020).mp4")
        ]
        failed = by_kind["failed"].json["download"]
        assert failed["id"] == lost["id"] and failed["error"]["code"] == "http_404"


async def test_a_finished_download_is_processed_again_on_request(
    app: App, settings: Settings, origin: Origin, media_files: MediaFiles
) -> None:
    origin.add_file("/dl/heat.mp4", media_files.mp4.read_bytes(), content_type="video/mp4")
    movie = await create_item(app, kind="movie", title="Heat", year=1995)
    done = await finished(
        app, (await submit(app, origin.url("/dl/heat.mp4"), media_id=movie["id"]))["id"]
    )
    library = settings.library_root
    first = library / "Movies" / "Heat (1995)" / "Heat (1995).mp4"
    assert first.is_file()

    # the year was wrong: corrected, the film is filed again where it now belongs
    changed = await app.http.patch(f"/api/v1/media/{movie['id']}", json={"year": 1996})
    assert changed.status_code == 200, changed.text
    again = await app.post(f"/media/{movie['id']}/reprocess")
    assert again.status_code == 202, again.text
    assert again.json() == {"download_ids": [done["id"]]}
    moved = library / "Movies" / "Heat (1996)" / "Heat (1996).mp4"

    async def refiled() -> list[dict[str, Any]] | None:
        item = (await app.get(f"/downloads/{done['id']}")).json()
        files = await files_of(app, done["id"])
        return files if item["status"] == "completed" and moved.is_file() else None

    [probed] = await await_for(refiled, 30, what="the film filed again")
    assert not first.exists()
    assert (probed["video_codec"], probed["width"], probed["height"]) == ("h264", 320, 240)
    assert probed["path"].endswith("Heat (1996).mp4") and probed["import_mode"] == "move"
    assert "reprocess" in await history(app, done["id"])

    by_download = await app.post(f"/downloads/{done['id']}/reprocess")
    assert by_download.status_code == 202 and by_download.json()["download_ids"] == [done["id"]]
    await await_for(
        lambda: refiled_existing(app, done["id"]), 30, what="processed again, found in place"
    )

    paused = await submit(app, origin.url("/dl/heat.mp4"), paused=True)
    refused = await app.post(f"/downloads/{paused['id']}/reprocess")
    assert refused.status_code == 409
    assert "only a completed download can be processed again" in refused.json()["detail"]
    empty = await create_item(app, kind="movie", title="Ronin", year=1998)
    nothing = await app.post(f"/media/{empty['id']}/reprocess")
    assert nothing.status_code == 409
    assert "has no completed download" in nothing.json()["detail"]
    assert (await app.post("/downloads/424242/reprocess")).status_code == 404


async def refiled_existing(app: App, download_id: int) -> bool:
    item = (await app.get(f"/downloads/{download_id}")).json()
    files = await files_of(app, download_id)
    return item["status"] == "completed" and [f["import_mode"] for f in files] == ["existing"]
