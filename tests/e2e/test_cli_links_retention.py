"""`haul link` and `haul retention` against a real server: a link anyone can open, then the
download outlives its age and goes with its file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.origin import Origin
from tests.support.server import HaulServer
from tests.support.wait import wait_for

AGE_SECONDS = 2.0


@pytest.fixture
def short_lived(tmp_path: Path) -> Iterator[HaulServer]:
    """A server that keeps finished downloads two seconds, and removes them only when asked."""
    srv = HaulServer(
        tmp_path / "server",
        env={
            "HAUL_RETENTION_DAYS": str(AGE_SECONDS / 86400),
            "HAUL_RETENTION_INTERVAL": "0",
            "COLUMNS": "200",
        },
    )
    srv.start()
    try:
        yield srv
    finally:
        srv.kill()


def completed(server: HaulServer, download_id: int) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        item: dict[str, Any] = server.api("GET", f"/downloads/{download_id}").json()
        return item if item["status"] in ("completed", "failed", "canceled") else None

    item = wait_for(check, timeout=60, what=f"download {download_id} to finish")
    assert item["status"] == "completed", item
    return item


def test_link_then_retention(short_lived: HaulServer, origin: Origin) -> None:
    server = short_lived
    data = os.urandom(345_678)
    origin.add_file("/show/episode.mkv", data)
    created = server.api("POST", "/downloads", json={"url": origin.url("/show/episode.mkv")})
    assert created.status_code == 201, created.text
    item = completed(server, created.json()["id"])

    made = server.cli("link", str(item["id"]), "--expires", "2h")
    assert made.returncode == 0, made.stderr
    url = made.stdout.strip()
    assert url.startswith(f"{server.url}/files/") and "\n" not in url
    assert "episode.mkv, until" in made.stderr
    fetched = httpx.get(url, timeout=30)
    assert fetched.status_code == 200 and fetched.content == data
    assert fetched.headers["content-type"] == "video/x-matroska"
    part = httpx.get(url, headers={"Range": "bytes=10-19"}, timeout=30)
    assert part.status_code == 206 and part.content == data[10:20]

    wrong = server.cli("link", str(item["id"]), "--expires", "soon")
    assert wrong.returncode == 2 and "'soon' is not a duration" in wrong.stderr
    unknown = server.cli("link", "999")
    assert unknown.returncode == 1 and "There is no download 999." in unknown.stderr
    too_long = server.cli("link", str(item["id"]), "--expires", "31d")
    assert too_long.returncode == 1 and "at most 30 days" in too_long.stderr

    shown = server.cli("retention", "show")
    assert shown.returncode == 0, shown.stderr
    assert "accounts and the local user: kept 2 seconds" in shown.stdout
    assert "anonymous sessions: kept 1 day" in shown.stdout
    assert "runs only when asked" in shown.stdout and "last run: never" in shown.stdout

    def outlived() -> bool:
        answer = server.api("POST", "/retention/run", json={"dry_run": True}).json()
        return bool(answer["removed"] == 1)

    wait_for(outlived, timeout=15, what="the download to outlive its age")
    dry = server.cli("retention", "run", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"would remove 1 downloads and 1 files, 345.7 KB freed ({len(data)} bytes)" in (
        dry.stdout
    )
    listed = [line.split() for line in dry.stdout.splitlines()]
    [row] = [words for words in listed if words[:1] == [str(item["id"])]]
    assert row[-1] == str((server.downloads / "episode.mkv").resolve())
    assert "345.7 KB" in " ".join(row)
    assert (server.downloads / "episode.mkv").is_file()

    ran = server.cli("retention", "run")
    assert ran.returncode == 0, ran.stderr
    assert f"removed 1 downloads and 1 files, 345.7 KB freed ({len(data)} bytes)" in ran.stdout
    assert not (server.downloads / "episode.mkv").exists()
    assert server.api("GET", f"/downloads/{item['id']}").status_code == 404
    gone = httpx.get(url, timeout=30)
    assert gone.status_code == 404
    # Said as for a forged link, so that nobody can probe which downloads exist.
    assert gone.json()["detail"].startswith("This link does not lead to a file")

    last = server.cli("retention", "show")
    assert "last run: removed 1 downloads and 1 files" in last.stdout
