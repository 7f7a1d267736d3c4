"""Downloading from an IPTV catalogue: films, seasons, retries with a fresh stream URL,
through the built-in engine and through real aria2, against the suite's own Xtream panel."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from haul.store.models import Download, DownloadEvent
from tests.conftest import App
from tests.integration.test_api_downloads import finished
from tests.integration.test_external_aria2 import add_aria2
from tests.support.aria2 import Aria2Daemon, aria2_daemon
from tests.support.config import configure
from tests.support.xtream import XtreamServer


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def add_provider(app: App, panel: XtreamServer) -> int:
    body = {
        "name": "panel",
        "url": panel.base_url,
        "username": panel.username,
        "password": panel.password,
    }
    response = await app.post("/iptv/providers", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def assert_no_credentials(app: App, panel: XtreamServer, download_id: int) -> None:
    """Nothing haul keeps or shows of the download holds the provider's password."""
    seen = [
        (await app.get(f"/downloads/{download_id}")).text,
        (await app.get(f"/downloads/{download_id}/events")).text,
        (await app.get("/downloads")).text,
    ]
    async with app.runtime.db.read() as s:
        row = await s.get(Download, download_id)
        events = (
            await s.scalars(select(DownloadEvent).where(DownloadEvent.download_id == download_id))
        ).all()
        seen.append(json.dumps([row.source_url, row.meta, row.files, row.last_error_message]))
        seen.extend(json.dumps([e.message, e.data]) for e in events)
    for text in seen:
        assert panel.password not in text
        assert panel.password.replace(" ", "%20") not in text


async def test_a_film_is_downloaded_and_filed_in_the_library(
    app: App, xtream: XtreamServer
) -> None:
    pid = await add_provider(app, xtream)
    response = await app.post(f"/iptv/providers/{pid}/vod/101/download")
    assert response.status_code == 201, response.text
    item = response.json()
    assert item["url"] == f"iptv://{pid}/movie/101"
    movie = (await app.get(f"/media/{item['media_id']}")).json()
    assert (movie["kind"], movie["title"], movie["year"]) == ("movie", "The Matrix", 1999)
    assert movie["external_ids"] == {"stream": "101", "tmdb": 603}

    done = await finished(app, item["id"])
    assert done["status"] == "completed", done
    filed = app.runtime.settings.library_root / "Movies/The Matrix (1999)/The Matrix (1999).mkv"
    assert digest(filed) == digest(xtream.file_for("movie", 101))
    async with app.runtime.db.read() as s:
        row = await s.get(Download, item["id"])
        assert row is not None and row.is_vod and not row.is_series_episode
        assert (row.iptv_provider_id, row.iptv_ref) == (pid, "101")
    await assert_no_credentials(app, xtream, item["id"])

    again = await app.post(f"/iptv/providers/{pid}/vod/101/download")
    assert again.status_code == 409 and "already has its file" in again.json()["detail"]


async def test_a_season_becomes_episodes_of_the_series(app: App, xtream: XtreamServer) -> None:
    pid = await add_provider(app, xtream)
    response = await app.post(f"/iptv/providers/{pid}/series/201/download", json={"season": 1})
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["errors"] == []
    assert [i["title"] for i in answer["items"]] == ["Dark (2017) S01E01", "Dark (2017) S01E02"]
    for item in answer["items"]:
        assert (await finished(app, item["id"]))["status"] == "completed"
    season = app.runtime.settings.library_root / "Series/Dark/Season 01"
    assert sorted(p.name for p in season.iterdir()) == ["Dark - S01E01.mkv", "Dark - S01E02.mkv"]
    assert digest(season / "Dark - S01E02.mkv") == digest(xtream.file_for("episode", 2002))

    series = (await app.get("/media", params={"kind": "series"})).json()["items"]
    assert [(s["title"], s["external_ids"]["series"]) for s in series] == [("Dark", "201")]
    detail = (await app.get(f"/media/{series[0]['id']}")).json()
    assert [(c["season"], c["episode"]) for c in detail["children"]] == [(1, 1), (1, 2)]
    async with app.runtime.db.read() as s:
        row = await s.get(Download, answer["items"][1]["id"])
        assert row is not None and row.is_series_episode
        assert (row.season, row.episode, row.iptv_ref) == (1, 2, "2002")

    # The whole series now: the two episodes already filed are refused, the third is queued.
    rest = (await app.post(f"/iptv/providers/{pid}/series/201/download")).json()
    assert [i["title"] for i in rest["items"]] == ["Dark (2017) S02E01"]
    assert [e["code"] for e in rest["errors"]] == ["duplicate", "duplicate"]


async def test_a_retry_asks_the_provider_for_a_fresh_url(app: App, xtream: XtreamServer) -> None:
    await configure(app, retry_max_attempts=3, retry_base_delay=0.2)
    pid = await add_provider(app, xtream)
    xtream.fail_stream("movie", 102, times=1, status=503)
    item = (await app.post(f"/iptv/providers/{pid}/vod/102/download")).json()
    assert (await finished(app, item["id"]))["status"] == "completed"
    kinds = [e["kind"] for e in (await app.get(f"/downloads/{item['id']}/events")).json()]
    assert "retry_scheduled" in kinds
    assert xtream.api_calls("get_vod_info") >= 2  # each attempt asked again

    # The panel changes the password: the download fails for good with a clear reason...
    film = (await app.post(f"/iptv/providers/{pid}/vod/103/download", json={"paused": True})).json()
    xtream.set_password("rotated-secret-42")
    assert (await app.post(f"/downloads/{film['id']}/resume")).status_code == 200
    failed = await finished(app, film["id"])
    assert failed["status"] == "failed"
    assert "rotated-secret-42" not in json.dumps(failed)
    # ...and once the provider is told the new one, a manual retry gets a URL that works.
    changed = await app.http.patch(
        f"/api/v1/iptv/providers/{pid}", json={"password": "rotated-secret-42"}
    )
    assert changed.status_code == 200, changed.text
    assert (await app.post(f"/downloads/{film['id']}/retry")).status_code == 200
    done = await finished(app, film["id"])
    assert done["status"] == "completed", done
    [record] = (await app.get(f"/downloads/{film['id']}/files")).json()["items"]
    assert digest(Path(record["path"])) == digest(xtream.file_for("movie", 103))
    await assert_no_credentials(app, xtream, film["id"])


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Aria2Daemon]:
    with aria2_daemon(tmp_path / "aria2") as running:
        yield running


async def test_films_go_through_a_preferred_aria2(
    app: App, xtream: XtreamServer, daemon: Aria2Daemon
) -> None:
    await add_aria2(app, daemon, prefer_for_files=True)
    pid = await add_provider(app, xtream)
    item = (await app.post(f"/iptv/providers/{pid}/vod/104/download")).json()
    done = await finished(app, item["id"])
    assert done["status"] == "completed", done
    assert done["client"] == "aria2"
    filed = app.runtime.settings.library_root / "Movies/Planète Océan (2012)"
    [film] = list(filed.iterdir())
    assert digest(film) == digest(xtream.file_for("movie", 104))
    await assert_no_credentials(app, xtream, item["id"])


async def test_unknown_things_are_refused_with_a_sentence(app: App, xtream: XtreamServer) -> None:
    pid = await add_provider(app, xtream)
    missing = await app.post(f"/iptv/providers/{pid}/vod/999/download")
    assert missing.status_code == 404, missing.text
    season = await app.post(f"/iptv/providers/{pid}/series/201/download", json={"season": 9})
    assert season.status_code == 404 and "season 9" in season.json()["detail"]
    nobody = await app.post("/iptv/providers/77/vod/101/download")
    assert nobody.status_code == 404
    assert (await app.get("/downloads")).json()["items"] == []
