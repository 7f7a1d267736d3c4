"""No path ever leaves haul's folders: output templates, names servers send, torrent file
names, paths clients report and every address that names a file.

Each test looks at the disk as well as at the answer: nothing is written, opened, served or
deleted outside the download root and the library.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from haul.engine import ytdlp
from haul.errors import PermanentTransferError
from haul.store.models import Download, DownloadEvent, MediaFile, Profile, utcnow
from haul.worker.client_files import file_entry
from tests.conftest import App
from tests.support import media
from tests.support.fixtures import MediaFiles
from tests.support.origin import Origin
from tests.support.tables import row_counts
from tests.support.torrents import bencode
from tests.support.wait import await_for

FINAL = {"completed", "failed", "canceled"}


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file() or p.is_symlink()}


async def finished(app: App, download_id: int, timeout: float = 60) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        item: dict[str, Any] = (await app.get(f"/downloads/{download_id}")).json()
        return item if item["status"] in FINAL else None

    return await await_for(done, timeout, what=f"download {download_id} to finish")


# -- (a) output templates and folders of profiles ------------------------------------------


TEMPLATES = [
    "../../x.%(ext)s",
    "a/../../b.%(ext)s",
    "/etc/cron.d/%(id)s",
    "..\\..\\x.%(ext)s",
    "C:\\x\\%(id)s",
    "~/x.%(ext)s",
    "-",
    "a\x00b.%(ext)s",
]


async def test_templates_that_leave_the_folder_are_refused_at_create_and_change(
    app: App,
) -> None:
    before = await row_counts(app)
    for template in TEMPLATES:
        created = await app.post("/profiles", json={"name": "evil", "output_template": template})
        changed = await app.http.patch("/api/v1/profiles/audio", json={"output_template": template})
        for response in (created, changed):
            assert response.status_code == 422, (template, response.text)
            detail = response.json()["detail"]
            assert "output_template must be a relative path" in detail or "NUL" in detail, detail
    assert await row_counts(app) == before
    assert (await app.get("/profiles/audio")).json()["output_template"] is None


@pytest.mark.parametrize(
    "template", ["../../x.%(ext)s", "/tmp/x.%(ext)s", "..\\x.%(ext)s", "-", "a\x00b"]
)
def test_the_engine_refuses_a_bad_template_it_is_given(template: str) -> None:
    """A template that reached the database some other way is checked again at download."""
    with pytest.raises(PermanentTransferError) as caught:
        ytdlp.check_template(template)
    assert caught.value.code == "bad_template"


async def test_a_stored_bad_template_fails_the_download_and_writes_nothing_outside(
    app: App, origin: Origin, media_files: MediaFiles, tmp_path: Path
) -> None:
    origin.add_file("/media/a.mp4", media_files.mp4, "video/mp4")
    origin.add_page("/watch/one", media.page_with_video(origin.url("/media/a.mp4")))
    async with app.runtime.db.write() as s:  # as if written before the checks existed
        s.add(Profile(name="old", output_template="../../escaped-%(id)s.%(ext)s"))
    outside = files_under(tmp_path)
    made = await app.post("/downloads", json={"url": origin.url("/watch/one"), "profile": "old"})
    assert made.status_code == 201, made.text
    done = await finished(app, made.json()["id"])
    assert done["status"] == "failed" and done["error_code"] == "bad_template", done
    assert "must be a relative path inside the download folder" in done["error"]
    assert files_under(tmp_path) - outside <= files_under(app.runtime.settings.downloads_root)
    assert not list(tmp_path.rglob("escaped-*"))


# -- (b) names servers choose -----------------------------------------------------------------


SERVER_NAMES: list[tuple[str, str | None, str | None]] = [
    ("/f/a", 'attachment; filename="../../etc/x.bin"', "x.bin"),
    ("/f/b", "attachment; filename*=UTF-8''..%2F..%2Fy.bin", "y.bin"),
    ("/f/c", "attachment; filename*=UTF-8''..%5C..%5Cz.bin", "z.bin"),
    ("/f/d", "attachment; filename*=UTF-8''nul%00name.bin", "nulname.bin"),
    ("/f/e", "attachment; filename*=UTF-8''%2Fetc%2Fpasswd", "passwd"),
    ("/f/f", "attachment; filename*=UTF-8''..", None),
    ("/f/g", "attachment; filename*=UTF-8''" + "%C3%A9" * 500 + ".mp4", None),
    ("/f/x/%2e%2e", None, None),
    ("/f/..%2F..%2Fw.bin", None, "w.bin"),
]


async def test_names_a_server_sends_stay_in_the_download_folder(
    app: App, origin: Origin, tmp_path: Path
) -> None:
    outside = files_under(tmp_path)
    ids = {}
    for path, disposition, expected in SERVER_NAMES:
        headers = {"Content-Disposition": disposition} if disposition else {}
        # the engine's HTTP library takes ``%2e%2e`` for ``..`` and asks for the folder above
        normal = posixpath.normpath(unquote(path))
        for asked in {path, normal, normal + "/"}:
            origin.fault(asked, "status", times=None, status=200, headers=headers)
        made = await app.post("/downloads", json={"url": origin.url(path)})
        assert made.status_code == 201, made.text
        ids[made.json()["id"]] = (path, expected)
    root = app.runtime.settings.downloads_root
    names = set()
    for download_id, (path, expected) in ids.items():
        done = await finished(app, download_id)
        assert done["status"] == "completed", (path, done["error"])
        (entry,) = done["files"]
        name = entry["name"]
        assert "/" not in entry["path"] and "\\" not in name and "\x00" not in name, path
        assert name not in ("", ".", "..") and not name.startswith("."), path
        assert len(name.encode()) <= 200, path
        assert expected is None or name == expected, (path, name)
        assert (root / entry["path"]).is_file(), path
        names.add(entry["path"])
    assert len(names) == len(SERVER_NAMES)
    new = files_under(tmp_path) - outside
    assert all(root in p.parents for p in new), new


async def test_a_page_title_with_slashes_and_dots_stays_in_the_download_folder(
    app: App, origin: Origin, media_files: MediaFiles, tmp_path: Path
) -> None:
    origin.add_file("/media/a.mp4", media_files.mp4, "video/mp4")
    page = media.page_with_video(origin.url("/media/a.mp4"), title="../../../escaped/x")
    origin.add_page("/watch/evil", page)
    outside = files_under(tmp_path)
    made = await app.post("/downloads", json={"url": origin.url("/watch/evil")})
    done = await finished(app, made.json()["id"])
    assert done["status"] == "completed", done
    root = app.runtime.settings.downloads_root
    new = files_under(tmp_path) - outside
    assert new and all(root in p.parents for p in new), new
    assert not (tmp_path / "escaped").exists()
    for entry in done["files"]:
        assert (root / entry["path"]).resolve().is_relative_to(root.resolve())


# -- (c) torrent file names and the paths clients report --------------------------------------


def _torrent(name: str, paths: list[list[str]] | None = None) -> bytes:
    info: dict[str, Any] = {"name": name, "piece length": 1}
    if paths is None:
        info["length"] = 1
        info["pieces"] = b"p" * 20
    else:
        info["files"] = [{"length": 1, "path": p} for p in paths]
        info["pieces"] = b"p" * 20 * len(paths)
    return bencode({"info": info})


async def test_a_torrent_whose_names_leave_its_folder_is_refused(app: App) -> None:
    before = await row_counts(app)
    for blob in [
        _torrent("../../etc"),
        _torrent("/abs"),
        _torrent("nul\x00name"),
        _torrent("ok", [["..", "..", "x"]]),
        _torrent("ok", [["/etc/passwd"]]),
        _torrent("ok", [["a", "b\x00c"]]),
        _torrent("ok", [["..\\..\\win.ini"]]),
    ]:
        response = await app.post(
            "/downloads/torrent",
            files={"torrent": ("evil.torrent", blob, "application/x-bittorrent")},
        )
        assert response.status_code == 422, response.text
        detail = response.json()["detail"]
        assert detail.startswith("That is not a valid .torrent file: the "), detail
        assert detail.endswith("would leave its folder."), detail
    assert await row_counts(app) == before


def test_a_reported_file_outside_the_root_is_recorded_without_a_look(tmp_path: Path) -> None:
    root, elsewhere = tmp_path / "downloads", tmp_path / "secret.bin"
    root.mkdir()
    elsewhere.write_bytes(b"private")
    entry = file_entry(elsewhere, root)
    assert entry == {"path": str(elsewhere), "name": "secret.bin", "size": None, "mtime": None}
    inside_root = root / "a.bin"
    inside_root.write_bytes(b"12345")
    assert file_entry(inside_root, root)["path"] == "a.bin"
    assert file_entry(inside_root, root)["size"] == 5
    # a link inside the root that leads out is outside
    (root / "link.bin").symlink_to(elsewhere)
    assert file_entry(root / "link.bin", root)["size"] is None


async def test_files_a_client_reports_outside_the_root_are_never_probed_served_or_deleted(
    app: App, media_files: MediaFiles, tmp_path: Path
) -> None:
    secret = tmp_path / "elsewhere" / "secret.mp4"
    secret.parent.mkdir()
    secret.write_bytes(media_files.mp4.read_bytes())
    root = app.runtime.settings.downloads_root
    root.mkdir(parents=True, exist_ok=True)
    (root / "inside-link.mp4").symlink_to(secret)
    files = [
        {"path": str(secret), "name": "secret.mp4", "size": None},
        {"path": "../elsewhere/secret.mp4", "name": "secret.mp4", "size": None},
        {"path": "inside-link.mp4", "name": "inside-link.mp4", "size": None},
    ]
    async with app.runtime.db.write() as s:
        row = Download(
            owner_key="local",
            source_url="magnet:?xt=urn:btih:" + "ab" * 20,
            dedupe_key="outside-test",
            phase="processing",
            completed_at=utcnow(),
            files=files,
        )
        s.add(row)
        await s.flush()
        s.add(DownloadEvent(download_id=row.id, kind="created"))
        download_id = int(row.id)
    app.runtime.media.wake()
    done = await finished(app, download_id)
    assert done["status"] == "completed"
    async with app.runtime.db.read() as s:
        probed = (
            await s.scalars(select(MediaFile).where(MediaFile.download_id == download_id))
        ).all()
    assert probed == []  # none of them was opened
    for index in range(len(files)):
        served = await app.get(f"/downloads/{download_id}/file", params={"index": index})
        assert served.status_code == 404, served.text
        assert "no longer on disk" in served.json()["detail"]
        link = await app.post(f"/downloads/{download_id}/link", json={"index": index})
        assert link.status_code == 404, link.text
    removed = await app.http.delete(
        f"/api/v1/downloads/{download_id}", params={"delete_files": "true"}
    )
    assert removed.status_code == 200, removed.text
    assert secret.read_bytes() == media_files.mp4.read_bytes()


# -- (d) addresses that name a file ------------------------------------------------------------


async def test_file_addresses_never_open_anything_outside(app: App, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    for path in [
        "/api/v1/downloads/..%2F..%2Fetc%2Fpasswd/file",
        "/api/v1/downloads/%2e%2e/file",
        "/api/v1/downloads/1/file?index=-1",
        "/api/v1/downloads/1/file?index=..%2F..%2Fsecret.txt",
        "/api/v1/downloads/1/file?path=" + str(secret),
        "/files/..%2F..%2Fsecret.txt",
        "/files/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/files/" + "%2e" * 2,
        "/files/x%00y",
        "/static/..%2F..%2F..%2Fsettings.py",
        "/static/%2e%2e/%2e%2e/settings.py",
        "/static/../../settings.py",
        "/api/v1/downloads/1/files?path=" + str(secret),
    ]:
        response = await app.http.get(path)
        assert 400 <= response.status_code < 500, (path, response.status_code)
        assert "private" not in response.text
        if response.headers.get("content-type", "").startswith("application/json"):
            assert response.json()["detail"], path


async def test_a_recorded_file_that_became_a_link_out_of_the_root_is_not_served(
    app: App, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    root = app.runtime.settings.downloads_root
    root.mkdir(parents=True, exist_ok=True)
    (root / "clip.mp4").write_bytes(b"mine")
    async with app.runtime.db.write() as s:
        row = Download(
            owner_key="local",
            source_url="https://example.org/clip.mp4",
            dedupe_key="link-out",
            phase="completed",
            completed_at=utcnow(),
            files=[{"path": "clip.mp4", "name": "clip.mp4", "size": 4}],
        )
        s.add(row)
        await s.flush()
        download_id = int(row.id)
    served = await app.get(f"/downloads/{download_id}/file")
    assert served.status_code == 200 and served.content == b"mine"
    link = (await app.post(f"/downloads/{download_id}/link")).json()["url"]
    (root / "clip.mp4").unlink()
    (root / "clip.mp4").symlink_to(secret)  # swapped for a link after it was recorded
    for response in (
        await app.get(f"/downloads/{download_id}/file"),
        await app.http.get(link),
    ):
        assert response.status_code == 404, response.text
        assert "private" not in response.text
    os.utime(secret)  # still there, untouched
    assert secret.read_text() == "private"


async def test_a_rescan_looks_only_inside_hauls_folders(app: App, tmp_path: Path) -> None:
    secret = tmp_path / "secret.mkv"
    root = app.runtime.settings.downloads_root
    root.mkdir(parents=True, exist_ok=True)
    (root / "mine.mkv").write_bytes(b"mine")
    async with app.runtime.db.write() as s:
        for path, exists in ((str(secret), False), ("../secret.mkv", False), ("mine.mkv", True)):
            s.add(MediaFile(path=path, file_name="x.mkv", file_exists=exists))
    secret.write_bytes(b"private")  # it exists now: a rescan that looked would say so
    response = await app.post("/media/rescan")
    assert response.status_code == 200, response.text
    assert response.json()["checked"] == 1 and response.json()["back"] == 0
    async with app.runtime.db.read() as s:
        kept = {f.path: f.file_exists for f in (await s.scalars(select(MediaFile))).all()}
    assert kept == {str(secret): False, "../secret.mkv": False, "mine.mkv": True}
