"""`haul media ...`, `haul add --media` and `haul show` against a real server."""

from __future__ import annotations

import os
from pathlib import Path

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


def test_a_file_probed_wrongly_is_probed_and_filed_again(
    tmp_path: Path, origin: Origin, media_files: MediaFiles
) -> None:
    # A server whose probe child cannot load PyAV (as on an install without it): the probe
    # fails and the film is not filed.
    fake = tmp_path / "no-pyav"
    (fake / "av").mkdir(parents=True)
    (fake / "av" / "__init__.py").write_text("raise ImportError('PyAV is not installed')\n")
    paths = os.pathsep.join([str(fake), os.environ.get("PYTHONPATH", "")])
    origin.add_file("/heat.mp4", media_files.mp4.read_bytes())
    broken = HaulServer(tmp_path / "srv", env={"PYTHONPATH": paths}).start()
    try:
        assert broken.cli("media", "add", "movie", "Heat", "--year", "1995").returncode == 0
        got = broken.cli("add", "--wait", "--media", "1", origin.url("/heat.mp4"))
        assert got.returncode == 0, got.stdout + got.stderr
        files = broken.api("GET", "/downloads/1/files").json()["items"]
        assert [f["is_media"] for f in files] == [False]
        assert "may be damaged" in files[0]["error"]
        # forced attach to the same item: it tries again and says it failed, not "attached"
        forced = broken.cli("media", "attach", "1", "1", "--force")
        assert forced.returncode == 1, forced.stdout + forced.stderr
        assert "nothing was filed into the library" in forced.stderr
    finally:
        broken.stop()
    filed = tmp_path / "srv" / "library" / "Movies" / "Heat (1995)" / "Heat (1995).mp4"
    assert not filed.exists()

    server = HaulServer(tmp_path / "srv").start()  # PyAV back
    try:
        again = server.cli("media", "attach", "1", "1", "--force")
        assert again.returncode == 0, again.stdout + again.stderr
        out = " ".join(again.stdout.split())
        assert "h264 320x240" in out and "aac 1ch" in out and "filed (move)" in out, out
        assert filed.read_bytes() == media_files.mp4.read_bytes()

        # processed again by item and by download: found where it is, nothing copied twice
        for args in (("1",), ("--download", "1")):
            done = server.cli("media", "reprocess", *args)
            assert done.returncode == 0, done.stdout + done.stderr
            assert "filed (existing)" in " ".join(done.stdout.split())
        shown = " ".join(server.cli("media", "show", "1").stdout.split())
        assert "h264 320x240" in shown and "Heat (1995).mp4" in shown
        assert sorted(p.name for p in filed.parent.iterdir()) == ["Heat (1995).mp4"]
        unfinished = server.api("POST", "/media/2/reprocess")
        assert unfinished.status_code == 404
    finally:
        server.stop()
