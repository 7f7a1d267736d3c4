"""`haul users rm` of an account that owns things, against a real server on both databases:
refused without a choice, handed over with --transfer-to, deleted with --delete-owned; a later
account gets a new id and nothing of theirs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_cli_accounts import PASSWORD, haul, make_admin, user_env
from tests.support.server import HaulServer


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[HaulServer]:
    srv = HaulServer(tmp_path / "server", env={"COLUMNS": "200", "HAUL_DATABASE_URL": database_url})
    srv.env.pop("HAUL_TOKEN", None)
    make_admin(srv, "alice")
    srv.start()
    try:
        yield srv
    finally:
        srv.kill()


def test_users_rm_asks_what_becomes_of_what_they_own(server: HaulServer, tmp_path: Path) -> None:
    admin = user_env(server, tmp_path / "alice")
    assert haul(admin, "login", "-u", "alice", "--password-stdin", stdin=PASSWORD).returncode == 0
    ids = {}
    for name in ("bob", "carol"):
        added = haul(admin, "users", "add", name, "--password-stdin", stdin=PASSWORD)
        assert added.returncode == 0, added.stderr
    for line in haul(admin, "users", "ls").stdout.splitlines():
        parts = line.split()
        if len(parts) > 1 and parts[1] in ("bob", "carol"):
            ids[parts[1]] = int(parts[0])
    bob = user_env(server, tmp_path / "bob")
    assert haul(bob, "login", "-u", "bob", "--password-stdin", stdin=PASSWORD).returncode == 0
    added = haul(bob, "add", "--paused", "http://example.test/film.mkv")
    assert added.returncode == 0, added.stderr

    refused = haul(admin, "users", "rm", "bob")
    assert refused.returncode == 1
    assert "bob: bob owns 1 download. Choose: delete them with the account, or hand them to " in (
        refused.stderr
    )
    assert "Use --delete-owned or --transfer-to USER." in refused.stderr
    both = haul(admin, "users", "rm", "bob", "--delete-owned", "--transfer-to", "carol")
    assert both.returncode == 2 and "Choose one" in both.stderr

    moved = haul(admin, "users", "rm", "bob", "--transfer-to", "carol")
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout.strip() == f"removed bob (id {ids['bob']})"
    carol = user_env(server, tmp_path / "carol")
    assert haul(carol, "login", "-u", "carol", "--password-stdin", stdin=PASSWORD).returncode == 0
    assert "film.mkv" in haul(carol, "ls").stdout

    deleted = haul(admin, "users", "rm", "carol", "--delete-owned")
    assert deleted.returncode == 0, deleted.stderr
    assert haul(admin, "users", "add", "dave", "--password-stdin", stdin=PASSWORD).returncode == 0
    dave_id = next(
        int(line.split()[0])
        for line in haul(admin, "users", "ls").stdout.splitlines()
        if line.split()[1:2] == ["dave"]
    )
    assert dave_id > ids["carol"]
    dave = user_env(server, tmp_path / "dave")
    assert haul(dave, "login", "-u", "dave", "--password-stdin", stdin=PASSWORD).returncode == 0
    assert "film.mkv" not in haul(dave, "ls").stdout
    assert "film.mkv" not in haul(admin, "ls").stdout  # an administrator sees every owner's
