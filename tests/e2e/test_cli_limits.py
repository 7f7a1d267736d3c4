"""`haul limit` against a real server: what is in force and when it changes, and setting the
global, per-owner, a download's own limit and the schedule."""

from __future__ import annotations

import json
import re

from tests.support.server import HaulServer


def test_cli_shows_and_sets_speed_limits_and_the_schedule(server: HaulServer) -> None:
    shown = server.cli("limit")
    assert shown.returncode == 0, shown.stderr
    assert "In force: no limit" in shown.stdout
    assert "Changes: never (no schedule)" in shown.stdout

    changed = server.cli("limit", "global", "4M")
    assert changed.returncode == 0, changed.stderr
    assert "In force: 4.0 MB/s" in changed.stdout
    owner = server.cli("limit", "owner", "1.5MB/s")
    assert owner.returncode == 0 and "Per owner: 1.5 MB/s" in owner.stdout

    evenings = [{"days": ["mon", "tue"], "from": "22:00", "to": "06:00", "limit": "1M"}]
    daily = [{"from": "00:00", "to": "24:00", "pause": True}]
    scheduled = server.cli("limit", "schedule", json.dumps(daily + evenings))
    assert scheduled.returncode == 0, scheduled.stderr
    assert "In force: paused by the schedule" in scheduled.stdout
    assert "Changes: never (the schedule is the same all week)" in scheduled.stdout
    assert "mon,tue 22:00-06:00: limited to 1.0 MB/s" in scheduled.stdout
    zoned = server.cli("limit", "timezone", "Asia/Tokyo")
    assert zoned.returncode == 0 and "Schedule (Asia/Tokyo):" in zoned.stdout
    now = server.api("GET", "/limits").json()
    assert now["paused"] and now["until"] is None  # paused all week: it never changes

    cleared = server.cli("limit", "schedule", "none")
    assert cleared.returncode == 0 and "In force: 4.0 MB/s" in cleared.stdout

    wrong = server.cli("limit", "global", "fast")
    assert wrong.returncode == 1 and "is not a speed" in wrong.stderr
    bad_zone = server.cli("limit", "timezone", "Mars/Olympus")
    assert bad_zone.returncode == 1 and "IANA" in bad_zone.stderr

    made = server.api("POST", "/downloads", json={"url": "http://127.0.0.1:9/a", "paused": True})
    download_id = made.json()["id"]
    own = server.cli("limit", "download", str(download_id), "500K")
    assert own.returncode == 0, own.stderr
    assert f"download {download_id}: 500.0 KB/s" in own.stdout
    assert server.api("GET", f"/downloads/{download_id}").json()["speed_limit"] == 500_000

    added = server.cli("add", "--paused", "--speed-limit", "2M", "http://127.0.0.1:9/b")
    assert added.returncode == 0, added.stderr
    newest = server.api("GET", "/downloads").json()["items"][0]
    assert newest["url"] == "http://127.0.0.1:9/b" and newest["speed_limit"] == 2_000_000
    shown = server.cli("show", str(newest["id"]))
    assert shown.returncode == 0 and re.search(r"speed_limit\s+2\.0 MB/s", shown.stdout)
    refused = server.cli("add", "--speed-limit", "fast", "http://127.0.0.1:9/c")
    assert refused.returncode == 2 and "--speed-limit: 'fast' is not a speed" in refused.stderr
