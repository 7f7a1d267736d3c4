"""`haul subscriptions` against a real server, on both databases: add and check a channel
(real yt-dlp), list it, show what it saw, pause, resume and remove it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import media
from tests.support.fixtures import MediaFiles
from tests.support.origin import Origin
from tests.support.server import HaulServer


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[HaulServer]:
    env = {
        "HAUL_DATABASE_URL": database_url,
        "COLUMNS": "200",
        "HAUL_SUBSCRIPTION_POLL_INTERVAL": "0",  # checked only when asked
    }
    srv = HaulServer(tmp_path / "server", env=env)
    srv.start()
    try:
        yield srv
    finally:
        srv.kill()


def test_add_check_ls_show_pause_resume_rm(
    server: HaulServer, origin: Origin, media_files: MediaFiles
) -> None:
    for n in (1, 2):
        origin.add_file(f"/c/v{n}.mp4", media_files.mp4, content_type="video/mp4")
    origin.add_page("/c", media.page_with_videos([origin.url(f"/c/v{n}.mp4") for n in (1, 2)]))

    added = server.cli("subscriptions", "add", origin.url("/c"), "--backfill", "1", "--check")
    assert added.returncode == 0, added.stderr
    assert f"added 1: {origin.url('/c')} (a page or a feed: its first check tells)" in added.stdout
    assert "1: 1 new download (1), 1 remembered without downloading" in added.stdout

    listed = server.cli("subscriptions", "ls")
    assert listed.returncode == 0, listed.stderr
    assert "A haul channel" in listed.stdout and "60 min" in listed.stdout
    shown = server.cli("subscriptions", "show", "1")
    assert shown.returncode == 0, shown.stderr
    assert "2 entries, 1 download" in shown.stdout
    assert "download 1 (" in shown.stdout and "skipped: backfill" in shown.stdout

    again = server.cli("subscriptions", "check", "1")
    assert again.returncode == 0 and again.stdout.strip() == "1: 0 new downloads", again.stdout
    paused = server.cli("subscriptions", "pause", "1")
    assert paused.returncode == 0 and paused.stdout.strip() == "paused 1"
    refused = server.cli("subscriptions", "check", "1")
    assert refused.returncode == 1 and "resume it to check it" in refused.stderr
    assert server.cli("subscriptions", "resume", "1").stdout.strip() == "resumed 1"
    removed = server.cli("subscriptions", "rm", "1")
    assert removed.returncode == 0 and removed.stdout.strip() == "removed 1"
    gone = server.cli("subscriptions", "show", "1")
    assert gone.returncode == 1 and "There is no subscription 1." in gone.stderr
