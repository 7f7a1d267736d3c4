"""The CLI's tables at 80 columns: no word split, no name cut, a profile's options shown; a
pipe still gets every row whole on one line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from haul.cli import config as config_cli
from haul.cli import cookies as cookies_cli
from haul.cli import main as cli
from haul.cli import profiles as profiles_cli
from haul.cli.api import Api
from haul.cli.render import console

SETTINGS = [
    {
        "key": "limit_global",
        "value": 10,
        "default": 10,
        "source": "default",
        "description": "How many downloads run at once, across every user and worker.",
        "none_means": None,
        "unit": None,
    },
    {
        "key": "site_rules",
        "value": [
            {"domain": "127.0.0.1", "max_transfers": 1, "sleep_seconds": 2, "connections": 1}
        ],
        "default": [],
        "source": "config",
        "description": "Rules for being polite to sites: per domain, max_transfers (at most "
        "that many transfers at once) and sleep_seconds (a pause between requests).",
        "none_means": None,
        "unit": None,
    },
    {
        "key": "anonymous_retention_days",
        "value": None,
        "default": None,
        "source": "default",
        "description": "Days anonymous visitors' finished downloads are kept.",
        "none_means": "keep forever",
        "unit": "days",
    },
]
PROFILE = {
    "name": "best-music-archive",
    "is_default": True,
    "format": "bestaudio/best",
    "container": None,
    "subtitles": [],
    "output_template": "%(uploader)s/%(title)s.%(ext)s",
    "target_dir": "music",
    "proxy": None,
    "audio_format": "mp3",
    "audio_quality": "192K",
    "embed_metadata": True,
    "embed_thumbnail": True,
    "embed_chapters": False,
    "embed_subtitles": False,
    "write_thumbnail": False,
    "write_info_json": False,
    "write_nfo": True,
    "sponsorblock_remove": [],
    "sponsorblock_mark": [],
    "extractor_args": {},
}
COOKIES = {
    "id": 3,
    "count": 14,
    "domains": [".youtube.com", ".google.com", "accounts.example.org", "www.example.net"],
    "expires_at": "2027-06-01T12:30:00+00:00",
}


PAGE_URL = "https://videos.example/watch?v=abcdefghijk"
FORMATS = {
    "url": PAGE_URL,
    "title": "A talk about formats, with a title long enough to wrap",
    "duration": 754.0,
    "extractor": "Generic",
    "formats": [
        {
            "id": "hls-audio-128000-English",
            "ext": "mp4",
            "kind": "audio",
            "resolution": "audio only",
            "vcodec": "none",
            "acodec": "mp4a.40.2",
            "filesize_approx": 12_064_000,
            "tbr": 128.0,
            "abr": 128.0,
            "protocol": "m3u8_native",
            "format_note": "English (default)",
        },
        {
            "id": "248",
            "ext": "webm",
            "kind": "video",
            "width": 1920,
            "height": 1080,
            "resolution": "1920x1080",
            "fps": 29.97,
            "vcodec": "vp09.00.40.08",
            "acodec": "none",
            "filesize": 187_654_321,
            "tbr": 1991.2,
            "vbr": 1991.2,
            "protocol": "https",
            "format_note": "1080p",
        },
        {
            "id": "22",
            "ext": "mp4",
            "kind": "video+audio",
            "width": 1280,
            "height": 720,
            "resolution": "1280x720",
            "fps": 30,
            "vcodec": "avc1.64001F",
            "acodec": "mp4a.40.2",
            "filesize": None,
            "tbr": 1150.0,
            "protocol": "https",
            "format_note": "720p",
        },
    ],
}

#: A page of one format, of no known length, at a URL longer than its table is wide.
BARE: dict[str, Any] = {
    "url": "https://media.example.org/a/rather/long/path/to/a/recording.m3u8?token=abcdef",
    "title": None,
    "duration": None,
    "formats": [{"id": "0", "ext": "mp4", "kind": "unknown"}],
}


def answer(request: httpx.Request) -> httpx.Response:
    path = request.url.path.removeprefix("/api/v1")
    if path == "/formats":
        return httpx.Response(200, json=FORMATS if request.url.params["url"] == PAGE_URL else BARE)
    if path == "/config":
        return httpx.Response(200, json={"settings": SETTINGS})
    if path == "/profiles":
        return httpx.Response(200, json=[PROFILE, {**PROFILE, "name": "plain"} | _plain()])
    if path == "/cookies" and request.method == "POST":
        return httpx.Response(201, json=COOKIES)
    return httpx.Response(404, json={"detail": "no"})


def _plain() -> dict[str, Any]:
    flags = ("embed_metadata", "embed_thumbnail", "write_nfo")
    return {"is_default": False, "audio_format": None, "audio_quality": None} | dict.fromkeys(
        flags, False
    )


@pytest.fixture(autouse=True)
def server(monkeypatch: pytest.MonkeyPatch) -> None:
    def api_for(server: str, token: str | None) -> Api:
        api = Api(server, token)
        api.http.close()
        api.http = httpx.Client(
            base_url=f"{api.server}/api/v1", transport=httpx.MockTransport(answer)
        )
        return api

    for module in (config_cli, profiles_cli, cookies_cli, cli):
        monkeypatch.setattr(module, "api_for", api_for)


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's console as an 80-column terminal (without colours)."""
    monkeypatch.setattr(console, "_force_terminal", True)
    monkeypatch.setattr(console, "_width", 80)
    monkeypatch.setattr(console, "_color_system", None)


def run(*args: str) -> str:
    result = CliRunner().invoke(cli.app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def words_whole(output: str, *phrases: str) -> None:
    """Every word of the phrases is whole somewhere in ``output``: lines break between words,
    never inside one (``max_transfe`` / ``rs``)."""
    tokens = set(output.replace("│", " ").split())
    for phrase in phrases:
        for word in phrase.split():
            assert word in tokens, (word, output)


@pytest.mark.usefixtures("terminal")
def test_config_ls_fits_80_columns_without_splitting_words() -> None:
    output = run("config", "ls")
    assert max(len(line) for line in output.splitlines()) <= 80, output
    for key in ("limit_global", "site_rules", "anonymous_retention_days"):
        assert re.search(rf"^\s*{key}\s", output, re.M), output
    words_whole(output, SETTINGS[1]["description"], SETTINGS[0]["description"])
    assert (
        "max_transfers" in output
        and "127.0.0.1: 1 at once, 2 s apart, 1 connection per file" in output
    )
    # a description reads as lines of several words, not one word a line
    lines = [line.split() for line in output.splitlines() if "polite" in line]
    assert lines and len(lines[0]) >= 5, output


@pytest.mark.usefixtures("terminal")
def test_profiles_ls_shows_whole_names_and_their_options_at_80_columns() -> None:
    output = run("profiles", "ls")
    assert max(len(line) for line in output.splitlines()) <= 80, output
    assert "best-music-archive *" in output and "…" not in output
    assert "audio mp3 192K, embeds metadata+thumbnail, writes nfo" in output
    assert "%(uploader)s/%(title)s.%(ext)s" in output
    assert re.search(r"^plain\s", output, re.M), output


@pytest.mark.usefixtures("terminal")
def test_cookies_add_says_so_in_whole_lines_at_80_columns(tmp_path: Path) -> None:
    exported = tmp_path / "cookies.txt"
    exported.write_text("# Netscape HTTP Cookie File\n")
    output = run("cookies", "add", str(exported))
    lines = output.splitlines()
    assert max(len(line) for line in lines) <= 80, output
    assert lines[0] == "added cookie set 3: 14 cookies, the first expiring 2027-06-01 12:30 UTC"
    assert "sites" in lines[1] and "accounts.example.org" in output
    words_whole(output, ", ".join(COOKIES["domains"]))


@pytest.mark.usefixtures("terminal")
def test_formats_show_id_ext_resolution_codecs_size_and_rate_in_80_columns() -> None:
    output = run("formats", PAGE_URL)
    assert max(len(line) for line in output.splitlines()) <= 80, output
    rows = {line.split()[0]: line.split() for line in output.splitlines() if line.strip()}
    assert rows["hls-audio-128000-English"][:6] == [
        "hls-audio-128000-English",
        "mp4",
        "audio",
        "mp4a",
        "~12.1MB",
        "128k",
    ]
    assert rows["248"][:6] == ["248", "webm", "1920x1080", "vp09", "187.7MB", "1991k"]
    assert rows["22"][:6] == ["22", "mp4", "1280x720", "avc1+mp4a", "-", "1150k"]
    assert "…" not in output
    words_whole(output, "English (default)", FORMATS["title"])
    assert output.splitlines()[-1].split() == ["12:34", PAGE_URL]


@pytest.mark.usefixtures("terminal")
def test_formats_footer_keeps_the_url_whole_and_says_no_unknown_length() -> None:
    output = run("formats", BARE["url"])
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    assert max(len(line) for line in output.splitlines()) <= 80, output
    assert lines[-1] == BARE["url"], output
    assert "-" not in lines, output


def test_a_pipe_gets_every_row_whole_on_one_line() -> None:
    config = run("config", "ls")
    row = next(line for line in config.splitlines() if "site_rules" in line)
    assert SETTINGS[1]["description"] in row
    profiles = run("profiles", "ls")
    row = next(line for line in profiles.splitlines() if "best-music-archive" in line)
    assert "audio mp3 192K, embeds metadata+thumbnail, writes nfo" in row
    listed = run("formats", PAGE_URL)
    row = next(line for line in listed.splitlines() if line.split()[:1] == ["248"])
    assert "vp09.00.40.08" in row and "https" in row and "1080p" in row
    cookies = run("cookies", "add", __file__)
    assert "  sites .youtube.com, .google.com, accounts.example.org, www.example.net" in cookies


def test_ls_refuses_an_unknown_status_and_names_the_valid_ones() -> None:
    result = CliRunner().invoke(cli.app, ["ls", "--status", "queued,bogus"])
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.replace("│", " ").split())
    assert "haul knows no status 'bogus'" in said, said
    assert "queued, resolving, downloading, paused" in said, said
