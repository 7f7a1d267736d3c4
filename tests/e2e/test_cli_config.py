"""`haul config` and `haul profiles` against a real server."""

from __future__ import annotations

from tests.support.server import HaulServer


def test_cli_lists_sets_and_unsets_runtime_settings(server: HaulServer) -> None:
    server.env["COLUMNS"] = "200"  # the table folds long cells on a narrow terminal
    listing = server.cli("config", "ls")
    assert listing.returncode == 0, listing.stderr
    assert "limit_global" in listing.stdout and "anonymous_retention_days" in listing.stdout
    assert "none (no limit)" in listing.stdout and "1 day " in listing.stdout

    changed = server.cli("config", "set", "limit_global", "3")
    assert changed.returncode == 0, changed.stderr
    assert changed.stdout.strip() == "limit_global = 3, was 10"
    emptied = server.cli("config", "set", "retention_days", "none")
    assert emptied.returncode == 0, emptied.stderr
    assert emptied.stdout.strip() == "retention_days = none (keep forever)"
    stored = {s["key"]: s for s in server.api("GET", "/config").json()["settings"]}
    assert stored["limit_global"]["value"] == 3 and stored["limit_global"]["source"] == "config"
    assert "set" in server.cli("config", "ls").stdout

    wrong = server.cli("config", "set", "limit_global", "0")
    assert wrong.returncode == 1
    assert "limit_global must be a whole number of at least 1." in wrong.stderr
    unknown = server.cli("config", "set", "speed", "1")
    assert unknown.returncode == 1 and "There is no setting named 'speed'" in unknown.stderr

    back = server.cli("config", "unset", "limit_global")
    assert back.returncode == 0, back.stderr
    assert back.stdout.strip() == "limit_global = 10 (the default), was 3"
    stored = {s["key"]: s for s in server.api("GET", "/config").json()["settings"]}
    assert stored["limit_global"]["source"] == "default"


def test_cli_adds_lists_edits_and_removes_profiles(server: HaulServer) -> None:
    server.env["COLUMNS"] = "200"
    added = server.cli(
        "profiles", "add", "hd", "--format", "bv*[height<=1080]+ba/b", "--container", "mkv",
        "--subtitles", "en,de", "--target-dir", "videos/hd", "--default",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "added hd (the default)"
    listing = server.cli("profiles", "ls")
    assert listing.returncode == 0, listing.stderr
    row = next(line for line in listing.stdout.splitlines() if " hd " in line)
    assert "*" in row and "mkv" in row and "en, de" in row and "videos/hd" in row

    edited = server.cli("profiles", "edit", "hd", "--name", "full-hd", "--container", "")
    assert edited.returncode == 0, edited.stderr
    [profile] = [p for p in server.api("GET", "/profiles").json() if p["name"] == "full-hd"]
    assert profile["container"] is None and profile["is_default"] is True

    hostile = server.cli("profiles", "add", "evil", "--template", "../../x")
    assert hostile.returncode == 1
    assert "output_template must be a relative path" in hostile.stderr
    taken = server.cli("profiles", "add", "audio")
    assert taken.returncode == 1 and "There is already a profile named 'audio'." in taken.stderr

    removed = server.cli("profiles", "rm", "full-hd", "audio")
    assert removed.returncode == 0, removed.stderr
    left = [p["name"] for p in server.api("GET", "/profiles").json()]
    assert "full-hd" not in left and "audio" not in left
    gone = server.cli("profiles", "rm", "full-hd")
    assert gone.returncode == 1 and "There is no profile named 'full-hd'." in gone.stderr


def test_cli_sets_a_profiles_audio_side_files_and_sponsorblock(server: HaulServer) -> None:
    server.env["COLUMNS"] = "200"
    added = server.cli(
        "profiles", "add", "podcast", "--audio-format", "mp3", "--audio-quality", "192k",
        "--embed-metadata", "--write-nfo", "--sponsorblock-remove", "sponsor,selfpromo",
        "--sponsorblock-mark", "intro",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    listing = server.cli("profiles", "ls")
    row = next(line for line in listing.stdout.splitlines() if " podcast " in line)
    assert "audio mp3" in row
    [made] = [p for p in server.api("GET", "/profiles").json() if p["name"] == "podcast"]
    assert (made["audio_format"], made["audio_quality"]) == ("mp3", "192K")
    assert made["embed_metadata"] is made["write_nfo"] is True
    assert made["embed_thumbnail"] is False
    assert made["sponsorblock_remove"] == ["sponsor", "selfpromo"]
    assert made["sponsorblock_mark"] == ["intro"]

    edited = server.cli("profiles", "edit", "podcast", "--no-write-nfo", "--sponsorblock-mark", "")
    assert edited.returncode == 0, edited.stderr
    [changed] = [p for p in server.api("GET", "/profiles").json() if p["name"] == "podcast"]
    assert changed["write_nfo"] is False and changed["sponsorblock_mark"] == []
    assert changed["embed_metadata"] is True  # not named: kept
    refused = server.cli("profiles", "edit", "podcast", "--container", "mp4")
    assert refused.returncode == 1 and "audio-only profile" in refused.stderr


def test_durations_in_messages_are_words_not_exponents(server: HaulServer) -> None:
    server.env["COLUMNS"] = "200"
    too_long = server.cli("link", "1", "--expires", "31d")
    assert too_long.returncode == 1
    assert "not 31 days." in too_long.stderr and "e+" not in too_long.stderr
    slower = server.cli("config", "set", "retry_base_delay", "2678400")
    assert slower.returncode == 1
    assert "retry_base_delay must be at most 2592000 seconds (30 days)." in slower.stderr
    assert server.cli("config", "set", "retry_max_delay", "86400").returncode == 0
    crossed = server.cli("config", "set", "retry_base_delay", "172800")
    assert crossed.returncode == 1
    assert "retry_base_delay (2 days) cannot be more than retry_max_delay (1 day)." in (
        crossed.stderr
    )
    kept = server.cli("config", "set", "retention_days", "31")
    assert kept.stdout.strip() == "retention_days = 31 days, was none (keep forever)"
    shown = server.cli("retention", "show")
    assert "kept 31 days" in shown.stdout and "runs every 1 hour" in shown.stdout


def test_config_keys_are_never_cut_on_a_narrow_terminal(server: HaulServer) -> None:
    server.env["COLUMNS"] = "60"
    listing = server.cli("config", "ls")
    assert listing.returncode == 0, listing.stderr
    keys = [s["key"] for s in server.api("GET", "/config").json()["settings"]]
    first_cells = [line.split()[1] for line in listing.stdout.splitlines() if line.startswith("│")]
    assert set(keys) <= set(first_cells), first_cells
    assert "…" not in "".join(first_cells)


def test_cli_sets_site_rules_and_a_profiles_proxy_and_extractor_args(server: HaulServer) -> None:
    server.env["COLUMNS"] = "200"
    rules = '[{"domain": "youtube.com", "max_transfers": 2, "sleep_seconds": 5}]'
    changed = server.cli("config", "set", "site_rules", rules)
    assert changed.returncode == 0, changed.stderr
    assert changed.stdout.strip() == "site_rules = youtube.com: 2 at once, 5 s apart, was none"
    wrong = server.cli("config", "set", "site_rules", '[{"domain": "youtube.com"}]')
    assert wrong.returncode == 1 and "asks for nothing" in wrong.stderr

    added = server.cli(
        "profiles", "add", "tunnel", "--proxy", "http://bob:hunter22@proxy.lan:3128",
        "--extractor-args", "youtube:player_client=web,default",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    listing = server.cli("profiles", "ls")
    assert "http://***@proxy.lan:3128" in listing.stdout and "hunter22" not in listing.stdout
    [made] = [p for p in server.api("GET", "/profiles").json() if p["name"] == "tunnel"]
    assert made["extractor_args"] == {"youtube": {"player_client": ["web", "default"]}}
    socks = server.cli("profiles", "edit", "tunnel", "--proxy", "socks5://proxy.lan:1080")
    assert socks.returncode == 1 and "SOCKS proxies are not supported" in socks.stderr
    cleared = server.cli("profiles", "edit", "tunnel", "--proxy", "", "--extractor-args", "")
    assert cleared.returncode == 0, cleared.stderr
    [after] = [p for p in server.api("GET", "/profiles").json() if p["name"] == "tunnel"]
    assert after["proxy"] is None and after["extractor_args"] == {}
