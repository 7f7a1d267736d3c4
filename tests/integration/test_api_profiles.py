"""Profiles through the API: add, change, remove; one default; no way out of the download root."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from haul.core.profiles import FLAGS
from haul.service.profiles import engine_profile
from haul.store.models import Download, Profile
from tests.conftest import App
from tests.support.origin import Origin
from tests.support.wait import await_for


async def names(app: App) -> list[str]:
    return [p["name"] for p in (await app.get("/profiles")).json()]


async def defaults(app: App) -> list[str]:
    return [p["name"] for p in (await app.get("/profiles")).json() if p["is_default"]]


async def change(app: App, profile: str, status: int = 200, **fields: Any) -> dict[str, Any]:
    response = await app.http.patch(f"/api/v1/profiles/{profile}", json=fields)
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


async def remove(app: App, name: str) -> Any:
    return await app.http.delete(f"/api/v1/profiles/{name}")


async def profile_of(app: App, download_id: int) -> str | None:
    async with app.runtime.db.read() as s:
        row = await s.get(Download, download_id)
        assert row is not None
        if row.profile_id is None:
            return None
        profile = await s.get(Profile, row.profile_id)
        return None if profile is None else profile.name


async def test_add_change_rename_and_remove(app: App) -> None:
    created = await app.post(
        "/profiles",
        json={
            "name": "hd",
            "format": "bv*[height<=1080]+ba/b",
            "container": "mkv",
            "subtitles": ["en", "pt-BR"],
            "output_template": "%(uploader)s/%(title)s.%(ext)s",
            "target_dir": "videos/hd",
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["subtitles"] == ["en", "pt-BR"] and body["target_dir"] == "videos/hd"
    assert body["is_default"] is False and body["created_at"]
    assert "hd" in await names(app)
    assert (await app.get("/profiles/hd")).json()["container"] == "mkv"

    changed = await change(app, "hd", name="full-hd", container=None, subtitles="en")
    assert changed["name"] == "full-hd" and changed["container"] is None
    assert changed["subtitles"] == ["en"] and changed["format"] == "bv*[height<=1080]+ba/b"
    assert (await app.get("/profiles/hd")).status_code == 404

    assert (await remove(app, "full-hd")).status_code == 204
    assert "full-hd" not in await names(app)
    gone = await remove(app, "full-hd")
    assert (
        gone.status_code == 404 and gone.json()["detail"] == "There is no profile named 'full-hd'."
    )
    missing = await app.http.patch("/api/v1/profiles/nope", json={"format": "b"})
    assert missing.status_code == 404


async def test_a_taken_name_is_a_conflict(app: App) -> None:
    taken = await app.post("/profiles", json={"name": "audio"})
    assert taken.status_code == 409
    assert taken.json() == {
        "detail": "There is already a profile named 'audio'.",
        "code": "profile_exists",
    }
    clash = await change(app, "720p", 409, name="audio")
    assert clash["code"] == "profile_exists"
    assert await change(app, "720p", name="720p")  # its own name is no clash


async def test_hostile_templates_and_folders_are_refused(app: App, tmp_path: Path) -> None:
    for fields, field, words in [
        ({"output_template": "../../x"}, "output_template", "stays inside the download folder"),
        ({"output_template": "/etc/%(id)s"}, "output_template", "no absolute path"),
        ({"output_template": "%(title)z.%(ext)s"}, "output_template", "yt-dlp can read"),
        ({"target_dir": "../../x"}, "target_dir", "inside the download folder"),
        ({"target_dir": "/srv"}, "target_dir", "inside the download folder"),
        ({"container": "exe"}, "container", "container must be one of"),
        ({"name": "../x"}, "name", "A profile name is"),
    ]:
        response = await app.post("/profiles", json={"name": "evil", **fields})
        assert response.status_code == 422, (fields, response.text)
        body = response.json()
        assert body["code"] == "invalid_profile" and list(body["errors"]) == [field]
        assert words in body["detail"], body
    # A folder that leads out through a link is refused by its real path.
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    root = app.runtime.settings.downloads_root
    root.mkdir(parents=True, exist_ok=True)
    (root / "shortcut").symlink_to(outside)
    linked = await app.post("/profiles", json={"name": "evil", "target_dir": "shortcut/x"})
    assert linked.status_code == 422
    assert linked.json()["detail"] == "target_dir 'shortcut/x' leads out of the download folder."
    bad_change = await change(app, "audio", 422, output_template="../../x")
    assert list(bad_change["errors"]) == ["output_template"]
    assert "evil" not in await names(app)
    assert (await app.get("/profiles/audio")).json()["output_template"] is None


async def test_one_default_at_a_time_and_submits_without_a_profile_get_it(app: App) -> None:
    assert await defaults(app) == ["default"]
    plain = await app.post("/downloads", json={"url": "http://127.0.0.1:9/a", "paused": True})
    assert await profile_of(app, plain.json()["id"]) == "default"

    made = await app.post("/profiles", json={"name": "mine", "format": "b", "is_default": True})
    assert made.json()["is_default"] is True
    assert await defaults(app) == ["mine"]
    after = await app.post("/downloads", json={"url": "http://127.0.0.1:9/b", "paused": True})
    assert await profile_of(app, after.json()["id"]) == "mine"
    chosen = await app.post(
        "/downloads", json={"url": "http://127.0.0.1:9/c", "paused": True, "profile": "audio"}
    )
    assert await profile_of(app, chosen.json()["id"]) == "audio"

    await change(app, "720p", is_default=True)
    assert await defaults(app) == ["720p"]
    await change(app, "720p", is_default=False)
    assert await defaults(app) == []
    none = await app.post("/downloads", json={"url": "http://127.0.0.1:9/d", "paused": True})
    assert await profile_of(app, none.json()["id"]) is None


async def test_the_database_holds_one_default_even_under_concurrent_changes(app: App) -> None:
    names = [f"p{n}" for n in range(8)]
    for name in names:
        assert (await app.post("/profiles", json={"name": name})).status_code == 201
    answers = await asyncio.gather(
        *(app.http.patch(f"/api/v1/profiles/{n}", json={"is_default": True}) for n in names)
    )
    for answer in answers:
        assert answer.status_code in (200, 409), answer.text
        if answer.status_code == 409:
            assert answer.json()["detail"].startswith("Another profile was made the default")
    assert len(await defaults(app)) == 1
    with pytest.raises(IntegrityError):  # not even a write that skips the service
        async with app.runtime.db.write() as s:
            s.add(Profile(name="sneaky", subtitles=[], is_default=True))


async def test_a_profile_in_use_stays_until_its_downloads_are_done(
    app: App, origin: Origin
) -> None:
    await app.post("/profiles", json={"name": "busy", "container": "mp4"})
    origin.add_file("/small.bin", b"small file")
    queued = await app.post(
        "/downloads", json={"url": origin.url("/small.bin"), "paused": True, "profile": "busy"}
    )
    download_id = queued.json()["id"]
    refused = await remove(app, "busy")
    assert refused.status_code == 409
    assert refused.json() == {
        "detail": "1 unfinished download uses the profile 'busy'; remove the profile once "
        "it is finished or canceled.",
        "code": "profile_in_use",
    }
    await app.post(f"/downloads/{download_id}/resume")

    async def completed() -> bool:
        item = (await app.get(f"/downloads/{download_id}")).json()
        return bool(item["status"] == "completed")

    await await_for(completed, 30, what="the download to complete")
    assert (await remove(app, "busy")).status_code == 204
    # The download and its history are still there, without the profile.
    item = (await app.get(f"/downloads/{download_id}")).json()
    assert item["status"] == "completed" and item["files"][0]["name"] == "small.bin"
    events = (await app.get(f"/downloads/{download_id}/events")).json()
    assert events[0]["kind"] == "created"
    assert await profile_of(app, download_id) is None


async def test_removed_seed_profiles_stay_removed(app: App) -> None:
    assert (await remove(app, "with-subtitles")).status_code == 204
    await app.runtime.profiles.seed_defaults()  # what the next start does
    assert "with-subtitles" not in await names(app)


async def test_finished_files_land_in_the_profiles_folder(app: App, origin: Origin) -> None:
    await app.post("/profiles", json={"name": "sorted", "target_dir": "videos/sorted"})
    origin.add_file("/clip.bin", b"clip bytes")
    item = await app.post("/downloads", json={"url": origin.url("/clip.bin"), "profile": "sorted"})

    async def completed() -> dict[str, Any] | None:
        got: dict[str, Any] = (await app.get(f"/downloads/{item.json()['id']}")).json()
        return got if got["status"] == "completed" else None

    done = await await_for(completed, 30, what="the download to complete")
    assert done["files"][0]["path"] == "videos/sorted/clip.bin"
    root = app.runtime.settings.downloads_root
    assert (root / "videos" / "sorted" / "clip.bin").read_bytes() == b"clip bytes"
    served = await app.get(f"/downloads/{done['id']}/file")
    assert served.status_code == 200 and served.content == b"clip bytes"


async def test_audio_embedding_side_files_and_sponsorblock_are_saved_and_read(app: App) -> None:
    before = (await app.get("/profiles/best-mp4")).json()
    assert before["audio_format"] is None and before["audio_quality"] is None
    assert not any(before[flag] for flag in FLAGS)
    assert before["sponsorblock_remove"] == before["sponsorblock_mark"] == []

    wanted = {
        "audio_format": "mp3",
        "audio_quality": "192k",
        **dict.fromkeys(FLAGS, True),
        "sponsorblock_remove": ["sponsor", "selfpromo"],
        "sponsorblock_mark": "intro, poi_highlight",
    }
    created = await app.post("/profiles", json={"name": "podcast", **wanted})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["audio_format"] == "mp3" and body["audio_quality"] == "192K"
    assert all(body[flag] is True for flag in FLAGS)
    assert body["sponsorblock_remove"] == ["sponsor", "selfpromo"]
    assert body["sponsorblock_mark"] == ["intro", "poi_highlight"]
    assert (await app.get("/profiles/podcast")).json() == body

    async with app.runtime.db.read() as s:
        row = (await s.scalars(select(Profile).where(Profile.name == "podcast"))).one()
        engine = engine_profile(row)
    assert engine.audio_format == "mp3" and engine.write_nfo and engine.embed_thumbnail
    assert engine.sponsorblock_remove == ("sponsor", "selfpromo")

    # an audio-only profile has no container; once it is video again it may
    refused = await change(app, "podcast", 422, container="mp4")
    assert list(refused["errors"]) == ["container"]
    changed = await change(app, "podcast", audio_format=None, audio_quality=None, container="mp4")
    assert (changed["audio_format"], changed["container"]) == (None, "mp4")
    assert changed["write_nfo"] is True  # left out: kept
    cleared = await change(app, "podcast", write_nfo=False, sponsorblock_remove=None)
    assert cleared["write_nfo"] is False and cleared["sponsorblock_remove"] == []


async def test_bad_media_options_are_refused_with_a_sentence(app: App) -> None:
    for fields, field, words in [
        ({"audio_format": "aac"}, "audio_format", "audio_format must be one of: mp3, m4a"),
        ({"audio_format": "mp3", "audio_quality": "fast"}, "audio_quality", "VBR level"),
        ({"audio_quality": "5"}, "audio_quality", "needs an audio_format"),
        ({"audio_format": "wav", "container": "mkv"}, "container", "audio-only profile"),
        ({"sponsorblock_remove": ["chapter"]}, "sponsorblock_remove", "choose from: sponsor"),
        ({"sponsorblock_mark": ["adverts"]}, "sponsorblock_mark", "'adverts' is not"),
    ]:
        response = await app.post("/profiles", json={"name": "bad", **fields})
        assert response.status_code == 422, (fields, response.text)
        body = response.json()
        assert body["code"] == "invalid_profile" and list(body["errors"]) == [field], body
        assert words in body["detail"], body
    assert "bad" not in await names(app)


async def test_fragments_fetched_at_once_are_saved_and_reach_the_engine(app: App) -> None:
    assert (await app.get("/profiles/best-mp4")).json()["concurrent_fragments"] == 4
    created = await app.post("/profiles", json={"name": "hls", "concurrent_fragments": 12})
    assert created.status_code == 201, created.text
    assert created.json()["concurrent_fragments"] == 12
    async with app.runtime.db.read() as s:
        row = (await s.scalars(select(Profile).where(Profile.name == "hls"))).one()
        assert engine_profile(row).concurrent_fragments == 12
    assert (await change(app, "hls", concurrent_fragments=None))["concurrent_fragments"] == 4
    refused = await change(app, "hls", 422, concurrent_fragments=17)
    assert list(refused["errors"]) == ["concurrent_fragments"]
