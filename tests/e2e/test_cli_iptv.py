"""`haul iptv ...` against a real server and the test IPTV panel."""

from __future__ import annotations

from urllib.parse import quote

from tests.support.server import HaulServer
from tests.support.xtream import PASSWORD, XtreamServer


def test_cli_configures_browses_and_removes_a_provider(
    server: HaulServer, xtream: XtreamServer
) -> None:
    server.env["COLUMNS"] = "160"  # Rich tables: no wrapping inside a title
    outputs: list[str] = []

    def cli(*args: str) -> tuple[int, str, str]:
        done = server.cli("iptv", *args)
        outputs.extend([done.stdout, done.stderr])
        return done.returncode, done.stdout, done.stderr

    login = ["--username", xtream.username, "--password"]
    code, _, stderr = cli("add", "panel", xtream.base_url, *login, "wrong-password")
    assert code == 1
    assert "panel: The IPTV provider 'panel' refused the username or password" in stderr
    assert server.api("GET", "/iptv/providers").json()["items"] == []  # nothing saved

    code, stdout, stderr = cli("add", "panel", xtream.base_url, *login, xtream.password)
    assert code == 0, stderr
    assert "panel: ok (Active, expires 2100-01-01, 0/2 streams)" in stdout
    assert "added panel (id 1)" in stdout

    code, stdout, _ = cli("ls")
    assert "panel" in stdout and xtream.username in stdout and xtream.base_url in stdout
    assert cli("test", "panel")[0] == 0
    assert cli("test", "1")[0] == 0

    code, stdout, _ = cli("vod", "panel", "--search", "amelie")
    assert code == 0
    assert "Amélie" in stdout and "Le Fabuleux Destin d'Amélie Poulain" in stdout
    assert "Matrix" not in stdout and "2 films" in stdout

    code, stdout, _ = cli("vod", "panel", "--limit", "2")
    assert "The Matrix" in stdout and "1999" in stdout and "mkv" in stdout
    assert "1-2 of 5 films" in stdout

    code, stdout, _ = cli("categories", "panel", "--series")
    assert "Drame" in stdout and "Comédie" in stdout

    code, stdout, _ = cli("series", "panel", "--search", "ELITE")
    assert "Élite" in stdout and "202" in stdout and "Dark" not in stdout

    code, stdout, _ = cli("episodes", "panel", "201")
    assert code == 0
    for expected in ("Dark (2017)", "S01E01", "S01E02", "S02E01", "Dark - S01E02 - Lies", "47:33"):
        assert expected in stdout, expected
    assert "3 episodes in 2 seasons" in stdout
    code, stdout, _ = cli("episodes", "panel", "201", "--season", "2")
    assert "S02E01" in stdout and "S01E01" not in stdout and "1 episodes in 1 season" in stdout
    code, _, stderr = cli("episodes", "panel", "201", "--season", "5")
    assert code == 1 and "Dark has no season 5" in stderr
    code, _, stderr = cli("episodes", "panel", "999")
    assert code == 1 and "'panel' has no series with the id 999" in stderr

    code, _, stderr = cli("vod", "nope")
    assert code == 1 and "There is no IPTV provider 'nope'" in stderr

    xtream.set_password("rotated-Pa55")
    code, _, stderr = cli("test", "panel")
    assert code == 1 and "refused the username or password" in stderr
    assert cli("edit", "panel", "--password", "rotated-Pa55")[0] == 0
    assert cli("test", "panel")[0] == 0

    assert cli("rm", "panel")[0] == 0
    assert server.api("GET", "/iptv/providers").json()["items"] == []

    secrets = ["rotated-Pa55", "wrong-password", PASSWORD, quote(PASSWORD, safe="")]
    for text in [*outputs, server.log.read_text()]:
        for secret in secrets:
            assert secret not in text


def test_cli_downloads_a_film_and_a_season_into_the_library(
    server: HaulServer, xtream: XtreamServer
) -> None:
    login = ["--username", xtream.username, "--password", xtream.password]
    assert server.cli("iptv", "add", "panel", xtream.base_url, *login).returncode == 0
    both = server.cli("iptv", "get", "panel")
    assert both.returncode == 2 and "either --movie or --series" in both.stderr

    film = server.cli("iptv", "get", "panel", "--movie", "102", "--wait")
    assert film.returncode == 0, film.stdout + film.stderr
    library = server.data_dir / "library"
    filed = library / "Movies" / "Amélie (2001)" / "Amélie (2001).mp4"
    assert filed.read_bytes() == xtream.file_for("movie", 102).read_bytes()

    season = server.cli("iptv", "get", "panel", "--series", "202", "--season", "1", "--wait")
    assert season.returncode == 0, season.stdout + season.stderr
    episodes = sorted(p.name for p in (library / "Series" / "Élite" / "Season 01").iterdir())
    assert episodes == ["Élite - S01E01.mp4", "Élite - S01E02.mp4"]
    again = server.cli("iptv", "get", "panel", "--series", "202", "--season", "1")
    assert again.returncode == 1 and "already has its file" in again.stderr
    for output in (film, season, again):
        assert xtream.password not in output.stdout + output.stderr
