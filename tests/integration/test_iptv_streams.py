"""fresh_stream_url against the test panel: the bytes are the served file's, and a changed
container or password gives a new URL while the old one stops working."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest

from haul.errors import (
    IptvNotFound,
    ProviderAuthFailed,
    ProviderDisabled,
    ProviderUnavailable,
    TransientTransferError,
)
from haul.iptv import ResolvedStream, as_transfer_error, fresh_stream_url
from haul.store.models import MediaItem
from tests.conftest import App
from tests.support.media import sha256
from tests.support.xtream import PASSWORD, XtreamServer


async def provider_id(app: App, panel: XtreamServer, **extra: Any) -> int:
    payload = {
        "name": "panel",
        "url": panel.base_url,
        "username": panel.username,
        "password": panel.password,
        **extra,
    }
    response = await app.post("/iptv/providers", json=payload)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def fetch(http: httpx.AsyncClient, url: str, **headers: str) -> httpx.Response:
    return await http.get(url, headers=headers)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def resolve(app: App, pid: int, kind: Any, ref: Any, **kw: Any) -> ResolvedStream:
    return await fresh_stream_url(app.runtime.db, app.runtime.http, pid, kind, ref, **kw)


async def test_a_film_resolves_to_the_served_file(app: App, xtream: XtreamServer) -> None:
    pid = await provider_id(app, xtream)
    stream = await resolve(app, pid, "movie", "101")
    assert (stream.kind, stream.ref, stream.extension) == ("movie", "101", "mkv")
    assert (stream.name, stream.title, stream.year) == ("The Matrix (1999)", "The Matrix", 1999)
    assert stream.filename == "The Matrix (1999).mkv" and stream.duration == 8160
    assert (stream.provider_id, stream.provider_name) == (pid, "panel")
    assert PASSWORD not in repr(stream) and PASSWORD not in stream.safe_url

    got = await fetch(app.runtime.http, stream.url)
    assert got.status_code == 200
    assert digest(got.content) == sha256(xtream.file_for("movie", 101))
    assert got.headers["content-type"] == "video/x-matroska"
    tail = await fetch(app.runtime.http, stream.url, Range="bytes=100-")
    assert tail.status_code == 206 and tail.content == got.content[100:]
    assert len(xtream.stream_requests("movie", 101)) == 2


async def test_a_changed_container_gives_a_new_url(app: App, xtream: XtreamServer) -> None:
    pid = await provider_id(app, xtream)
    old = await resolve(app, pid, "movie", 101)
    xtream.set_extension("movie", 101, "mp4")

    stale = await fetch(app.runtime.http, old.url)
    assert stale.status_code == 404

    new = await resolve(app, pid, "movie", 101)
    assert new.extension == "mp4" and new.url != old.url and new.filename.endswith(".mp4")
    got = await fetch(app.runtime.http, new.url)
    assert got.status_code == 200
    assert digest(got.content) == sha256(xtream.file_for("movie", 101))
    assert got.content[4:8] == b"ftyp"  # really an MP4 now


async def test_a_rotated_password_gives_a_new_url_once_haul_knows_it(
    app: App, xtream: XtreamServer
) -> None:
    pid = await provider_id(app, xtream)
    old = await resolve(app, pid, "movie", 102)
    xtream.set_password("rotated-Pa55")

    assert (await fetch(app.runtime.http, old.url)).status_code == 401
    with pytest.raises(ProviderAuthFailed, match="'panel' refused the username or password") as e:
        await resolve(app, pid, "movie", 102)
    assert PASSWORD not in str(e.value) and "rotated" not in str(e.value)
    assert as_transfer_error(e.value).transient is False  # retrying will not fix that

    changed = await app.http.patch(
        f"/api/v1/iptv/providers/{pid}", json={"password": "rotated-Pa55"}
    )
    assert changed.status_code == 200
    new = await resolve(app, pid, "movie", 102)
    assert new.url != old.url and "rotated-Pa55" in new.url
    got = await fetch(app.runtime.http, new.url)
    assert digest(got.content) == sha256(xtream.file_for("movie", 102))


async def test_an_episode_resolves_with_its_series(app: App, xtream: XtreamServer) -> None:
    pid = await provider_id(app, xtream)
    stream = await resolve(app, pid, "episode", 2002, series_id=201)
    assert stream.name == "Dark (2017) S01E02 - Lies"
    assert (stream.series_id, stream.season, stream.episode) == (201, 1, 2)
    assert (stream.title, stream.episode_title, stream.extension) == ("Dark", "Lies", "mkv")
    got = await fetch(app.runtime.http, stream.url)
    assert digest(got.content) == sha256(xtream.file_for("episode", 2002))
    assert "/series/" in stream.url

    xtream.set_extension("episode", 2002, "mp4")
    again = await resolve(app, pid, "episode", "2002", series_id="201")
    assert again.extension == "mp4" and again.url != stream.url
    assert (await fetch(app.runtime.http, stream.url)).status_code == 404
    got = await fetch(app.runtime.http, again.url)
    assert digest(got.content) == sha256(xtream.file_for("episode", 2002))

    # A series whose details are info: [] and ids strings: a placeholder name, the right file.
    heat = await resolve(app, pid, "episode", "2201", series_id=203)
    assert (heat.name, heat.extension) == ("Series 203 S01E01 - Heat", "mkv")
    got = await fetch(app.runtime.http, heat.url)
    assert digest(got.content) == sha256(xtream.file_for("episode", 2201))


async def test_an_episode_finds_its_series_in_the_library(app: App, xtream: XtreamServer) -> None:
    pid = await provider_id(app, xtream)
    async with app.runtime.db.write() as s:
        series = MediaItem(
            kind="series", title="Dark", provider_id=pid, external_ids={"series": 201}
        )
        s.add(series)
        await s.flush()
        s.add(
            MediaItem(
                kind="episode",
                title="Beginnings and Endings",
                parent_id=series.id,
                season=2,
                episode=1,
                provider_id=pid,
                external_ids={"episode": "2011"},
            )
        )
        s.add(
            MediaItem(
                kind="episode",
                title="Bienvenidos",
                provider_id=pid,
                external_ids={"episode": 2101, "series": "202"},
            )
        )
    found = await resolve(app, pid, "episode", "2011")
    assert (found.series_id, found.season, found.episode, found.extension) == (201, 2, 1, "mp4")
    own = await resolve(app, pid, "episode", 2101)
    assert own.series_id == 202 and own.name == "Élite (2018) S01E01 - Bienvenidos"

    with pytest.raises(IptvNotFound, match="which series episode 4242"):
        await resolve(app, pid, "episode", 4242)
    with pytest.raises(IptvNotFound, match="has no episode 4242"):
        await resolve(app, pid, "episode", 4242, series_id=201)
    with pytest.raises(IptvNotFound, match="no film with the id 999"):
        await resolve(app, pid, "movie", 999)
    with pytest.raises(IptvNotFound, match="no IPTV provider with the id 9999"):
        await resolve(app, 9999, "movie", 101)


async def test_a_disabled_or_unreachable_provider(app: App, xtream: XtreamServer) -> None:
    pid = await provider_id(app, xtream)
    xtream.fail_api(times=1, status=503)
    with pytest.raises(ProviderUnavailable, match="HTTP 503") as busy:
        await resolve(app, pid, "movie", 101)
    assert isinstance(as_transfer_error(busy.value), TransientTransferError)
    assert (await resolve(app, pid, "movie", 101)).extension == "mkv"  # the next attempt works

    await app.http.patch(f"/api/v1/iptv/providers/{pid}", json={"enabled": False})
    with pytest.raises(ProviderDisabled, match="disabled"):
        await resolve(app, pid, "movie", 101)


async def test_the_panel_knobs_for_stream_retries(app: App, xtream: XtreamServer) -> None:
    """What the engine's retry tests stand on: a stream that fails N times, then serves."""
    pid = await provider_id(app, xtream)
    stream = await resolve(app, pid, "episode", 2001, series_id=201)
    xtream.fail_stream("episode", 2001, times=2, status=503)
    statuses = [(await fetch(app.runtime.http, stream.url)).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert [r.status for r in xtream.stream_requests("episode", 2001)] == [503, 503, 200]
    assert xtream.stream_path("episode", 2001) in stream.url
    assert xtream.api_calls("get_series_info") == 1
