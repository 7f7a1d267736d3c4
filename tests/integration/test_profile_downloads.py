"""Downloads through a running haul with a profile's media options: an audio-only download is
recorded as audio, and side files are filed with the media into the library."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET  # the file is haul's own output, parsed to check it
from pathlib import Path

from tests.conftest import App
from tests.integration.test_api_downloads import finished, submit
from tests.integration.test_library import create_item, files_of
from tests.support import media
from tests.support.fixtures import MediaFiles
from tests.support.origin import Origin
from tests.support.wait import await_for


async def test_an_audio_only_download_is_recorded_as_audio(
    app: App, origin: Origin, media_files: MediaFiles
) -> None:
    origin.add_file("/media/a.mp4", media_files.mp4, "video/mp4")
    origin.add_page("/watch/song", media.page_with_video(origin.url("/media/a.mp4")))
    made = await app.post("/profiles", json={"name": "tunes", "audio_format": "mp3"})
    assert made.status_code == 201, made.text

    item = await submit(app, origin.url("/watch/song"), profile="tunes")
    done = await finished(app, item["id"])
    assert done["status"] == "completed", done
    [song] = await files_of(app, item["id"])
    assert song["file_name"].endswith(".mp3")
    assert song["is_media"] is True and song["container"] == "mp3"
    assert song["audio_codec"] == "mp3"
    assert song["video_codec"] is None and song["width"] is None
    assert song["profile"] == "tunes"


async def test_a_direct_video_file_with_an_mp3_profile_ends_as_an_mp3(
    app: App, origin: Origin, media_files: MediaFiles
) -> None:
    origin.add_file("/media/clip.mp4", media_files.mp4, "video/mp4")
    made = await app.post("/profiles", json={"name": "mp3", "audio_format": "mp3"})
    assert made.status_code == 201, made.text

    item = await submit(app, origin.url("/media/clip.mp4"), profile="mp3")
    done = await finished(app, item["id"])
    assert done["status"] == "completed", done
    [song] = await files_of(app, item["id"])
    assert song["file_name"].endswith(".mp3")
    assert song["container"] == "mp3" and song["audio_codec"] == "mp3"
    assert song["video_codec"] is None


async def test_side_files_are_filed_beside_the_film(
    app: App, origin: Origin, media_files: MediaFiles, tmp_path: Path
) -> None:
    origin.add_file("/media/a.mp4", media_files.mp4, "video/mp4")
    origin.add_file("/media/t.jpg", media.make_jpeg(tmp_path / "t.jpg"), "image/jpeg")
    page = media.page_with_metadata(
        origin.url("/media/a.mp4"),
        title="Heat & <Dust>",
        uploader="Studio",
        thumbnail_url=origin.url("/media/t.jpg"),
        description="A page's words about it.",
    )
    origin.add_page("/watch/heat", page)
    body = {"name": "kodi", "write_nfo": True, "write_thumbnail": True}
    assert (await app.post("/profiles", json=body)).status_code == 201
    movie = await create_item(app, kind="movie", title="Heat", year=1995)

    item = await submit(app, origin.url("/watch/heat"), profile="kodi", media_id=movie["id"])
    done = await finished(app, item["id"])
    assert done["status"] == "completed", done
    folder = app.runtime.settings.library_root / "Movies" / "Heat (1995)"
    assert sorted(p.name for p in folder.iterdir()) == [
        "Heat (1995)-thumb.jpg",
        "Heat (1995).mp4",
        "Heat (1995).nfo",
    ]
    nfo = ET.parse(folder / "Heat (1995).nfo").getroot()  # noqa: S314
    # the NFO names the library item, not the page; the page's other fields stay
    assert nfo.tag == "movie"
    assert nfo.findtext("title") == "Heat" and nfo.findtext("year") == "1995"
    assert nfo.findtext("plot") == "A page's words about it."
    assert nfo.findtext("studio") == "Studio"
    # the page's date (2024) is not the film's (1995): it would contradict the year
    assert nfo.findtext("premiered") is None
    records = {Path(f["path"]).name: f for f in await files_of(app, item["id"])}
    assert set(records) == {"Heat (1995).mp4", "Heat (1995).nfo", "Heat (1995)-thumb.jpg"}
    assert records["Heat (1995).mp4"]["is_media"] is True
    assert records["Heat (1995).nfo"]["is_media"] is False
    assert not list(app.runtime.settings.downloads_root.rglob("*.nfo"))  # nothing left behind


async def test_an_nfo_filed_by_attaching_names_the_item(
    app: App, origin: Origin, media_files: MediaFiles
) -> None:
    origin.add_file("/media/k.mp4", media_files.mp4, "video/mp4")
    page = media.page_with_metadata(
        origin.url("/media/k.mp4"), title="page (1)", uploader="Someone", description="Plot."
    )
    origin.add_page("/watch/k", page)
    body = {"name": "kodi", "write_nfo": True}
    assert (await app.post("/profiles", json=body)).status_code == 201
    item = await submit(app, origin.url("/watch/k"), profile="kodi")
    done = await finished(app, item["id"])
    assert done["status"] == "completed", done
    [written] = app.runtime.settings.downloads_root.rglob("*.nfo")
    assert ET.parse(written).getroot().findtext("title") == "page (1)"  # noqa: S314

    film = await create_item(app, kind="movie", title="Kodi Film", year=2019)
    attached = await app.post(f"/downloads/{item['id']}/media", json={"media_id": film["id"]})
    assert attached.status_code == 204, attached.text
    target = app.runtime.settings.library_root / "Movies/Kodi Film (2019)/Kodi Film (2019).nfo"
    await await_for(lambda: target.is_file() or None, 30, what="the NFO to be filed")
    await finished(app, item["id"])
    nfo = ET.parse(target).getroot()  # noqa: S314
    assert nfo.findtext("title") == "Kodi Film" and nfo.findtext("year") == "2019"
    assert nfo.findtext("plot") == "Plot." and nfo.findtext("studio") == "Someone"


async def test_side_files_keep_the_numbered_name_of_their_file_through_attaching(
    app: App, origin: Origin, media_files: MediaFiles
) -> None:
    origin.add_file("/media/k.mp4", media_files.mp4, "video/mp4")
    page = media.page_with_metadata(
        origin.url("/media/k.mp4"), title="clip", uploader="Someone", description="P."
    )
    origin.add_page("/watch/k", page)
    body = {"name": "kodi", "write_nfo": True}
    assert (await app.post("/profiles", json=body)).status_code == 201
    # the same page once without its NFO: its name is taken in the download folder
    first = await submit(app, origin.url("/watch/k"))
    assert (await finished(app, first["id"]))["status"] == "completed"
    second = await submit(app, origin.url("/watch/k"), profile="kodi")
    assert (await finished(app, second["id"]))["status"] == "completed"
    downloads = app.runtime.settings.downloads_root
    [video] = [Path(f["path"]).name for f in await files_of(app, second["id"]) if f["is_media"]]
    [nfo] = [p.name for p in downloads.rglob("*.nfo")]
    assert " (1)" in video and nfo == video.rsplit(".", 1)[0] + ".nfo", (video, nfo)

    film = await create_item(app, kind="movie", title="Kodi Film", year=2019)
    folder = app.runtime.settings.library_root / "Movies" / "Kodi Film (2019)"
    folder.mkdir(parents=True)
    (folder / "Kodi Film (2019).mp4").write_bytes(b"an earlier copy")  # the name is taken
    attached = await app.post(f"/downloads/{second['id']}/media", json={"media_id": film["id"]})
    assert attached.status_code == 204, attached.text
    target = folder / "Kodi Film (2019) (2).nfo"
    await await_for(lambda: target.is_file() or None, 30, what="the NFO to be filed")
    await finished(app, second["id"])
    assert sorted(p.name for p in folder.iterdir()) == [
        "Kodi Film (2019) (2).mp4",
        "Kodi Film (2019) (2).nfo",
        "Kodi Film (2019).mp4",
    ]
    assert not list(downloads.rglob("*.nfo"))  # nothing left in the download folder
    filed = ET.parse(target).getroot()  # noqa: S314
    assert filed.findtext("title") == "Kodi Film" and filed.findtext("year") == "2019"


async def test_attaching_the_same_video_again_leaves_one_set_of_side_files(
    app: App, origin: Origin, media_files: MediaFiles, tmp_path: Path
) -> None:
    origin.add_file("/media/k.mp4", media_files.mp4, "video/mp4")
    origin.add_file("/media/t.jpg", media.make_jpeg(tmp_path / "t.jpg"), "image/jpeg")
    page = media.page_with_metadata(
        origin.url("/media/k.mp4"),
        title="clip",
        uploader="Someone",
        thumbnail_url=origin.url("/media/t.jpg"),
        description="P.",
    )
    origin.add_page("/watch/k", page)
    body = {"name": "kodi", "write_nfo": True, "write_info_json": True, "write_thumbnail": True}
    assert (await app.post("/profiles", json=body)).status_code == 201
    film = await create_item(app, kind="movie", title="Test Film", year=2020)
    first = await submit(app, origin.url("/watch/k"), profile="kodi", media_id=film["id"])
    assert (await finished(app, first["id"]))["status"] == "completed"
    folder = app.runtime.settings.library_root / "Movies" / "Test Film (2020)"
    names = [
        "Test Film (2020)-thumb.jpg",
        "Test Film (2020).info.json",
        "Test Film (2020).mp4",
        "Test Film (2020).nfo",
    ]
    assert sorted(p.name for p in folder.iterdir()) == names
    second = await submit(app, origin.url("/watch/k"), profile="kodi")
    assert (await finished(app, second["id"]))["status"] == "completed"

    attached = await app.post(
        f"/downloads/{second['id']}/media", json={"media_id": film["id"], "force": True}
    )
    assert attached.status_code == 204, attached.text

    async def filed() -> bool:
        paths = [Path(f["path"]) for f in await files_of(app, second["id"])]
        return bool(paths) and all(p.is_relative_to(folder) for p in paths)

    await await_for(filed, 30, what="the second download to be filed")
    assert (await finished(app, second["id"]))["status"] == "completed"
    assert sorted(p.name for p in folder.iterdir()) == names
    assert {Path(f["path"]).name for f in await files_of(app, second["id"])} == set(names)
    info = json.loads((folder / "Test Film (2020).info.json").read_bytes())
    assert info["title"] == "clip"
    nfo = ET.parse(folder / "Test Film (2020).nfo").getroot()  # noqa: S314
    assert nfo.findtext("title") == "Test Film" and nfo.findtext("year") == "2020"
