"""`haul formats URL` and `haul add --format / --audio-format` against a real server, on an
HLS master playlist with two variants and a page whose title is hostile to a terminal."""

from __future__ import annotations

from pathlib import Path

from tests.support import media
from tests.support.fixtures import MediaFiles
from tests.support.origin import Origin
from tests.support.server import HaulServer


def test_formats_are_listed_and_the_chosen_one_downloaded(
    server: HaulServer, origin: Origin, tmp_path: Path
) -> None:
    origin.add_dir("/hls", media.make_hls_variants(tmp_path / "hls").parent)
    master = origin.url("/hls/master.m3u8")

    listed = server.cli("formats", master)
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line.split() for line in listed.stdout.splitlines() if line.strip()}
    assert rows["150"][1:4] == ["mp4", "video+audio", "160x120"]
    assert rows["300"][1:4] == ["mp4", "video+audio", "320x240"]
    assert "0:04" in listed.stdout
    # An HLS variant's size is estimated from its bitrate and the duration (300 kbit/s, 4 s).
    assert all(any(t.startswith("~") for t in rows[i]) for i in ("150", "300")), rows

    got = server.cli("add", "--wait", "--format", "150", master)
    assert got.returncode == 0, got.stdout + got.stderr
    [item] = server.api("GET", "/downloads").json()["items"]
    assert item["status"] == "completed" and item["format"] == "150"
    [video] = server.api("GET", f"/downloads/{item['id']}/files").json()["items"]
    assert (video["width"], video["height"]) == (160, 120)
    shown = " ".join(server.cli("show", str(item["id"])).stdout.split())
    assert "format 150" in shown and "h264 160x120" in shown


def test_audio_is_chosen_for_one_download_and_bad_choices_are_said(
    server: HaulServer, origin: Origin, media_files: MediaFiles
) -> None:
    origin.add_file("/media/a.mp4", media_files.mp4, "video/mp4")
    origin.add_page(
        "/watch/song", media.page_with_video(origin.url("/media/a.mp4"), title="Song \x1b[31mred")
    )
    page = origin.url("/watch/song")

    listed = server.cli("formats", page)
    assert listed.returncode == 0, listed.stderr
    # The listing's title is cleaned as download titles are: no escape sequence left.
    assert "\x1b" not in listed.stdout and "Song red" in listed.stdout

    got = server.cli("add", "--wait", "--audio-format", "mp3", "--audio-quality", "128K", page)
    assert got.returncode == 0, got.stdout + got.stderr
    [item] = server.api("GET", "/downloads").json()["items"]
    assert (item["audio_format"], item["audio_quality"]) == ("mp3", "128K")
    [song] = server.api("GET", f"/downloads/{item['id']}/files").json()["items"]
    assert song["file_name"].endswith(".mp3") and song["audio_codec"] == "mp3"

    bad = server.cli("add", "--audio-format", "mp5", page)
    assert bad.returncode == 2 and "audio_format must be one of" in bad.stderr
    unread = server.cli("add", "--format", "b[height<=]", page)
    assert unread.returncode == 1
    assert "yt-dlp cannot read the format 'b[height<=]'" in unread.stderr
    nothing = server.cli("formats", origin.url("/nowhere"))
    assert nothing.returncode == 1 and "404" in nothing.stderr
