"""`haul media ...`, `haul add --media` and `haul show` against a real server."""

from __future__ import annotations

from tests.support.fixtures import MediaFiles
from tests.support.origin import Origin
from tests.support.server import HaulServer


def test_cli_builds_the_library_and_shows_probed_files(
    server: HaulServer, origin: Origin, media_files: MediaFiles
) -> None:
    origin.add_file("/heat.mp4", media_files.mp4.read_bytes())
    added = server.cli("media", "add", "movie", "Heat", "--year", "1995", "--imdb", "tt0113277")
    assert added.returncode == 0, added.stderr
    assert "media item 1: movie Heat" in added.stdout
    bad = server.cli("media", "add", "episode", "Pilot", "--season", "1", "--episode", "1")
    assert bad.returncode == 1 and "belongs to a series" in bad.stderr

    got = server.cli("add", "--wait", "--media", "1", origin.url("/heat.mp4"))
    assert got.returncode == 0, got.stdout + got.stderr
    filed = server.data_dir / "library" / "Movies" / "Heat (1995)" / "Heat (1995).mp4"
    assert filed.read_bytes() == media_files.mp4.read_bytes()

    shown = server.cli("media", "show", "1")
    assert shown.returncode == 0, shown.stderr
    out = " ".join(shown.stdout.split())
    assert "h264 320x240" in out and "aac 1ch" in out and "subs eng" in out
    assert "filed (move)" in out
    detail = " ".join(server.cli("show", "1").stdout.split())
    assert "Heat (1995).mp4" in detail and "youtube dQw4w9WgXcQ" in detail

    listing = server.cli("media", "ls", "--kind", "movie")
    assert "Heat" in listing.stdout and "imdb:tt0113277" in listing.stdout
    again = server.cli("add", "--media", "1", origin.url("/heat.mp4"))
    assert again.returncode == 1 and "already has its file" in again.stderr

    removed = server.cli("media", "rm", "1")
    assert removed.returncode == 0 and "0 files deleted" in removed.stdout
    assert filed.is_file()
    assert server.api("GET", "/media").json()["items"] == []
