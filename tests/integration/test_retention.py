"""Retention end to end: old finished downloads go with their files, nothing else does."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update

from haul.clients.fake import FakeClient
from haul.core.client_items import ClientItem
from haul.core.status import Status
from haul.service.values import Owner
from haul.settings import Settings
from haul.store.models import Download, DownloadEvent, MediaFile, MediaItem, utcnow
from haul.web.deps import get_owner
from tests.conftest import App
from tests.integration.test_api_downloads import finished, submit
from tests.support.config import configure
from tests.support.fixtures import MediaFiles
from tests.support.folders import work_dir, work_root
from tests.support.origin import Origin
from tests.support.rows import app_without_worker, stored

DAY = timedelta(days=1)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A week for accounts, a day for anonymous sessions; runs only when asked."""
    return settings.model_copy(
        update={"retention_days": 7.0, "anonymous_retention_days": 1.0, "retention_interval": 0}
    )


@pytest.fixture
async def idle_app(settings: Settings) -> AsyncIterator[App]:
    async with app_without_worker(settings) as app:
        yield app


async def ids_left(app: App) -> set[int]:
    async with app.runtime.db.read() as s:
        return set((await s.scalars(select(Download.id))).all())


async def run(app: App, **body: Any) -> dict[str, Any]:
    response = await app.post("/retention/run", json=body)
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


async def test_an_old_download_goes_with_its_file_and_the_space_is_counted(
    app: App, origin: Origin
) -> None:
    old_data, new_data = os.urandom(123_457), os.urandom(50_000)
    origin.add_file("/old.bin", old_data)
    origin.add_file("/new.bin", new_data)
    old = await finished(app, (await submit(app, origin.url("/old.bin")))["id"])
    new = await finished(app, (await submit(app, origin.url("/new.bin")))["id"])
    root = app.runtime.settings.downloads_root
    old_file, new_file = root / old["files"][0]["path"], root / new["files"][0]["path"]
    assert old_file.read_bytes() == old_data
    async with app.runtime.db.write() as s:
        await s.execute(
            update(Download).where(Download.id == old["id"]).values(completed_at=utcnow() - 8 * DAY)
        )
    events = app.runtime.bus.subscribe()

    report = await run(app)

    assert (report["removed"], report["files"]) == (1, 1)
    assert report["freed_bytes"] == len(old_data)
    assert report["dry_run"] is False
    assert not old_file.exists()
    assert hashlib.sha256(new_file.read_bytes()).digest() == hashlib.sha256(new_data).digest()
    assert (await app.get(f"/downloads/{old['id']}")).status_code == 404
    assert (await app.get(f"/downloads/{new['id']}")).json()["status"] == "completed"
    async with app.runtime.db.read() as s:
        history = await s.scalar(select(func.count()).where(DownloadEvent.download_id == old["id"]))
        records = await s.scalar(select(func.count()).where(MediaFile.download_id == old["id"]))
    assert history == records == 0
    removed = await events.get(timeout=5)
    assert removed is not None and removed.type == "removed"
    assert removed.download_id == old["id"] and removed.data["reason"] == "retention"
    events.close()

    shown = (await app.get("/retention")).json()
    assert shown["retention_days"] == 7.0 and shown["anonymous_retention_days"] == 1.0
    assert shown["interval"] == 0
    assert shown["last_run"]["removed"] == 1
    assert shown["last_run"]["freed_bytes"] == len(old_data)
    assert shown["last_run"]["ran_at"] == report["ran_at"]

    again = await run(app)
    assert (again["removed"], again["freed_bytes"], again["files"]) == (0, 0, 0)


async def test_a_filed_download_goes_and_its_library_file_stays(
    app: App, origin: Origin, media_files: MediaFiles
) -> None:
    """A film filed into the library belongs to the library: retention removes the
    download's history, never the film nor its record in the media item."""
    data = media_files.mkv.read_bytes()
    origin.add_file("/dl/film.mkv", data)
    movie = (await app.post("/media", json={"kind": "movie", "title": "Film", "year": 2001})).json()
    done = await finished(
        app, (await submit(app, origin.url("/dl/film.mkv"), media_id=movie["id"]))["id"]
    )
    assert done["status"] == "completed", done
    filed = app.runtime.settings.library_root / "Movies" / "Film (2001)" / "Film (2001).mkv"
    assert filed.read_bytes() == data
    async with app.runtime.db.write() as s:
        await s.execute(
            update(Download)
            .where(Download.id == done["id"])
            .values(completed_at=utcnow() - 30 * DAY)
        )

    dry = await run(app, dry_run=True)
    assert [(d["id"], d["files"]) for d in dry["downloads"]] == [(done["id"], [])]

    report = await run(app)

    assert (report["removed"], report["files"], report["freed_bytes"]) == (1, 0, 0)
    assert filed.read_bytes() == data
    assert (await app.get(f"/downloads/{done['id']}")).status_code == 404
    detail = (await app.get(f"/media/{movie['id']}")).json()
    assert detail["title"] == "Film" and detail["download_ids"] == []
    assert [f["file_name"] for f in detail["files"]] == ["Film (2001).mkv"]
    async with app.runtime.db.read() as s:
        assert await s.get(MediaItem, movie["id"]) is not None


async def test_nothing_unfinished_or_still_held_is_touched(idle_app: App) -> None:
    app = idle_app
    kept = {
        "paused": await stored(app, phase="queued", desired_paused=True, files={"p.part": b"p"}),
        "queued": await stored(app, phase="queued"),
        "resolving": await stored(app, phase="admitted"),
        "downloading": await stored(app, phase="active", client="builtin", client_ref="x"),
        "processing": await stored(app, phase="processing", files={"proc.mkv": b"m" * 10}),
        "seeding": await stored(
            app,
            client="qbit",
            client_ref="a" * 40,
            files={"torrent/ep1.mkv": b"t" * 100},
        ),
        "removal owed": await stored(app, phase="canceled", client="aria2", client_ref="ab"),
        "young": await stored(app, age=6 * DAY, files={"young.bin": b"y" * 20}),
    }
    gone = await stored(
        app,
        client="qbit",
        client_ref="b" * 40,
        client_released_at=utcnow() - 20 * DAY,
        files={"done/seeded.mkv": b"s" * 1000},
    )
    failed = await stored(app, phase="failed")
    canceled = await stored(app, phase="canceled")
    partial = work_dir(app, canceled)
    partial.mkdir(parents=True)
    (partial / "video.mp4.part").write_bytes(b"z" * 300)

    report = await run(app)

    assert (report["removed"], report["files"]) == (3, 2)
    assert report["freed_bytes"] == 1300
    assert await ids_left(app) == set(kept.values())
    root = app.runtime.settings.downloads_root
    for name in ("p.part", "proc.mkv", "torrent/ep1.mkv", "young.bin"):
        assert (root / name).is_file(), name
    assert not (root / "done").exists() and not partial.exists()
    assert work_root(app).is_dir()
    assert gone not in await ids_left(app) and failed not in await ids_left(app)


async def test_external_clients_are_asked_about_the_items_they_hold(idle_app: App) -> None:
    app = idle_app
    root = app.runtime.settings.downloads_root
    fake, down = FakeClient("fake"), FakeClient("down")
    down.down = "connection refused"
    app.runtime.directory.clients.update(fake=fake, down=down)
    fake.store["seed"] = ClientItem("seed", Status.SEEDING, save_path=str(root))
    fake.store["done"] = ClientItem(
        "done", Status.COMPLETED, save_path=str(root / "done"), files=("a.mkv", "a.nfo")
    )
    fake.store["stopped"] = ClientItem(
        "stopped", Status.PAUSED, save_path=str(root), files=(str(root / "s.mkv"),)
    )
    seeding = await stored(app, client="fake", client_ref="seed", files={"seed.mkv": b"1" * 10})
    done = await stored(app, client="fake", client_ref="done", files={"done/a.mkv": b"2" * 100})
    (root / "done" / "a.nfo").write_bytes(b"3" * 7)  # the client's, not recorded by haul
    stopped = await stored(app, client="fake", client_ref="stopped", files={"s.mkv": b"4" * 20})
    forgotten = await stored(app, phase="failed", client="fake", client_ref="forgotten")
    unreachable = await stored(app, client="down", client_ref="x", files={"x.mkv": b"5" * 40})

    dry = await run(app, dry_run=True)
    assert (dry["removed"], dry["files"], dry["freed_bytes"]) == (3, 3, 127)
    assert set(fake.store) == {"seed", "done", "stopped"}

    report = await run(app)

    assert (report["removed"], report["files"], report["freed_bytes"]) == (3, 3, 127)
    assert set(fake.store) == {"seed"}  # removed from the client; haul deleted the data
    assert fake.calls.count("remove(delete_data=False)") == 2
    assert await ids_left(app) == {seeding, unreachable}
    assert {done, stopped, forgotten}.isdisjoint(await ids_left(app))
    assert (root / "seed.mkv").is_file() and (root / "x.mkv").is_file()
    assert not (root / "done").exists() and not (root / "s.mkv").exists()


async def test_anonymous_sessions_have_an_age_of_their_own(idle_app: App) -> None:
    app = idle_app
    session = f"session:{uuid.uuid4()}"
    local_old = await stored(app, age=30 * DAY, files={"local.bin": b"l" * 10})
    account_old = await stored(app, owner="user:3", age=30 * DAY)
    anon_old = await stored(app, owner=session, age=2 * DAY, files={"anon.bin": b"a" * 25})
    anon_new = await stored(app, owner=session, age=timedelta(hours=12))
    await configure(app, retention_days="none")  # downloads of people are kept for ever

    report = await run(app)

    assert (report["removed"], report["freed_bytes"]) == (1, 25)
    assert await ids_left(app) == {local_old, account_old, anon_new}
    assert anon_old not in await ids_left(app)
    assert (app.runtime.settings.downloads_root / "local.bin").is_file()
    shown = (await app.get("/retention")).json()
    assert shown["retention_days"] is None and shown["anonymous_retention_days"] == 1.0

    await configure(app, retention_days=10.0, anonymous_retention_days=3.0)
    report = await run(app)
    assert (report["removed"], report["freed_bytes"]) == (2, 10)
    assert await ids_left(app) == {anon_new}


async def test_a_dry_run_changes_nothing(idle_app: App) -> None:
    app = idle_app
    ids = {await stored(app, files={f"f{n}.bin": b"d" * (100 + n)}) for n in range(3)}
    ids.add(await stored(app, age=DAY))
    files = sorted(p.name for p in app.runtime.settings.downloads_root.glob("*.bin"))

    dry = await run(app, dry_run=True)

    assert (dry["removed"], dry["files"], dry["freed_bytes"]) == (3, 3, 303)
    assert dry["dry_run"] is True
    root = app.runtime.settings.downloads_root.resolve()
    listed = sorted((d["freed_bytes"], d["files"]) for d in dry["downloads"])
    assert listed == [(100 + n, [str(root / f"f{n}.bin")]) for n in range(3)]
    assert {d["id"] for d in dry["downloads"]} < ids
    assert all(d["name"].startswith("https://example.org/") for d in dry["downloads"])
    assert await ids_left(app) == ids
    assert sorted(p.name for p in app.runtime.settings.downloads_root.glob("*.bin")) == files
    assert (await app.get("/retention")).json()["last_run"] is None

    real = await run(app)
    assert (real["removed"], real["files"], real["freed_bytes"]) == (3, 3, 303)
    assert real["dry_run"] is False


async def test_batches_and_playlists(idle_app: App) -> None:
    app = idle_app
    app.runtime.retention.batch = 7
    singles = [await stored(app, files={f"s{n}.bin": b"x" * 10}) for n in range(20)]
    parent = await stored(app, phase="parent")
    children = [
        await stored(app, parent_id=parent, files={f"pl/{n}.mp4": b"c" * 100}) for n in range(3)
    ]
    busy_parent = await stored(app, phase="parent")
    busy = await stored(app, phase="active", parent_id=busy_parent)
    done_child = await stored(app, parent_id=busy_parent)

    dry = await run(app, dry_run=True)
    report = await run(app)

    assert (dry["removed"], dry["freed_bytes"]) == (report["removed"], report["freed_bytes"])
    assert report["removed"] == len(singles) + 1 + len(children) + 1
    assert report["freed_bytes"] == 20 * 10 + 3 * 100
    assert await ids_left(app) == {busy_parent, busy}
    assert done_child not in await ids_left(app)
    assert not (app.runtime.settings.downloads_root / "pl").exists()


async def test_ten_thousand_finished_rows(idle_app: App) -> None:
    app = idle_app
    old = utcnow() - 30 * DAY
    rows = [
        {
            "owner_key": "local" if n % 2 else f"session:{n}",
            "source_url": f"https://example.org/{n}",
            "dedupe_key": f"{n:064d}",
            "phase": "completed",
            "created_at": old,
            "completed_at": old,
            "files": [],
            "meta": {},
        }
        for n in range(10_000)
    ]
    async with app.runtime.db.write() as s:
        await s.execute(insert(Download), rows)
    kept = await stored(app, age=DAY)

    report = await run(app)

    assert report["removed"] == 10_000
    assert await ids_left(app) == {kept}


async def test_only_an_administrator_runs_it(idle_app: App) -> None:
    app = idle_app
    application = app.http._transport.app  # type: ignore[attr-defined]
    application.dependency_overrides[get_owner] = lambda: Owner(key="user:2", is_admin=False)
    try:
        refused = await app.post("/retention/run", json={"dry_run": True})
        assert refused.status_code == 403
        assert refused.json()["detail"] == "Only an administrator can do that."
        assert (await app.get("/retention")).status_code == 200
    finally:
        application.dependency_overrides.clear()
    assert (await app.post("/retention/run")).status_code == 200
