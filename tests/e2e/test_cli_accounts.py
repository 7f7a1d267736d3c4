"""`haul users`, `login`, `logout`, `whoami`, `tokens`, and `serve`'s refusal to open an
instance without accounts to the network, against real `haul serve` processes."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from haul.core.modes import refuse_start
from haul.errors import StartRefused
from tests.support.server import HaulServer, free_port

PASSWORD = "correct horse battery"


def haul(
    env: dict[str, str], *args: str, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the `haul` command as a user would, its password (if any) on standard input."""
    return subprocess.run(
        [sys.executable, "-m", "haul", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def user_env(server: HaulServer, config: Path) -> dict[str, str]:
    """The environment of a person using ``server`` whose saved logins live under ``config``."""
    env = {**server.env, "XDG_CONFIG_HOME": str(config), "HAUL_SERVER": server.url}
    env.pop("HAUL_TOKEN", None)
    return env


def needs_login(server: HaulServer) -> str:
    return f"haul at {server.url} needs a login: run 'haul login' or set HAUL_TOKEN"


def make_admin(server: HaulServer, name: str, password: str = PASSWORD) -> None:
    made = haul(server.env, "users", "create-admin", name, "--password-stdin", stdin=password)
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith(f"created administrator {name} (id ")


@pytest.fixture
def accounts_server(tmp_path: Path) -> Iterator[HaulServer]:
    """A loopback haul whose first administrator, alice, was made before it started."""
    srv = HaulServer(tmp_path / "server", env={"COLUMNS": "200"})
    srv.env.pop("HAUL_TOKEN", None)
    make_admin(srv, "alice")
    srv.start()
    try:
        yield srv
    finally:
        srv.kill()


def test_create_admin_works_without_a_server_and_recovers_access(tmp_path: Path) -> None:
    srv = HaulServer(tmp_path / "server", env={"COLUMNS": "200"})
    env = user_env(srv, tmp_path / "config")
    make_admin(srv, "alice", "first password")
    assert (tmp_path / "server" / "haul.db").is_file()  # made and migrated, no server needed

    again = haul(env, "users", "create-admin", "Alice", "--password-stdin", stdin=PASSWORD)
    assert again.returncode == 1
    assert "There is already a user named 'alice'" in again.stderr
    assert "--reset-password" in again.stderr
    short = haul(
        env, "users", "create-admin", "alice", "--reset-password", "--password-stdin", stdin="x"
    )
    assert short.returncode == 1
    assert "A password needs at least 8 characters." in short.stderr
    nobody = haul(env, "users", "create-admin", "bob", "--reset-password", "--password-stdin")
    assert nobody.returncode == 1 and "There is no user named 'bob'" in nobody.stderr
    reset = haul(
        env, "users", "create-admin", "alice", "--reset-password", "--password-stdin",
        stdin=f"{PASSWORD}\n",
    )  # fmt: skip
    assert reset.returncode == 0, reset.stderr
    assert reset.stdout.startswith("new password set for alice (id 1)")

    srv.start()
    try:
        old = haul(env, "login", "--username", "alice", "--password-stdin", stdin="first password")
        assert old.returncode == 1
        assert "That user name and password do not match an account." in old.stderr
        assert not (tmp_path / "config" / "haul" / "credentials.json").exists()
        new = haul(env, "login", "--username", "alice", "--password-stdin", stdin=PASSWORD)
        assert new.returncode == 0, new.stderr
        me = haul(env, "whoami")
        assert me.returncode == 0, me.stderr
        assert "mode: accounts" in me.stdout and "user: alice (id 1)" in me.stdout
        assert "role: admin" in me.stdout
    finally:
        srv.kill()


def test_login_saves_a_private_token_that_later_commands_use(
    accounts_server: HaulServer, tmp_path: Path
) -> None:
    srv = accounts_server
    env = user_env(srv, tmp_path / "config")
    before = haul(env, "ls")
    assert before.returncode == 1
    assert before.stderr.strip() == needs_login(srv)
    assert "Traceback" not in before.stderr

    logged = haul(
        env, "login", "-u", "alice", "--password-stdin", "--name", "laptop", stdin=PASSWORD
    )
    assert logged.returncode == 0, logged.stderr
    saved_file = tmp_path / "config" / "haul" / "credentials.json"
    assert f"logged in to {srv.url} as alice (admin)" in logged.stdout
    assert str(saved_file) in logged.stdout
    assert stat.S_IMODE(saved_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(saved_file.parent.stat().st_mode) & 0o077 == 0

    listed = haul(env, "ls")  # no --token, no HAUL_TOKEN: the saved login
    assert listed.returncode == 0, listed.stderr
    me = haul(env, "whoami")
    assert me.returncode == 0, me.stderr
    assert me.stdout.splitlines() == [
        f"server: {srv.url}",
        "mode: accounts",
        "user: alice (id 1)",
        "role: admin",
    ]
    tokens = haul(env, "tokens", "ls")
    assert tokens.returncode == 0, tokens.stderr
    [row] = [line for line in tokens.stdout.splitlines() if "laptop" in line]
    assert "*" in row.split()  # the token this machine logs in with

    # A second login replaces the saved token and revokes the one it replaces.
    first_id = saved_token_id(saved_file, srv)
    again = haul(env, "login", "-u", "alice", "--password-stdin", stdin=PASSWORD)
    assert again.returncode == 0, again.stderr
    live = {t["id"] for t in api(srv, saved_token(saved_file, srv), "GET", "/tokens").json()}
    assert first_id not in live and saved_token_id(saved_file, srv) in live


def test_admin_adds_lists_edits_and_removes_users(
    accounts_server: HaulServer, tmp_path: Path
) -> None:
    srv = accounts_server
    env = user_env(srv, tmp_path / "config")
    assert haul(env, "login", "-u", "alice", "--password-stdin", stdin=PASSWORD).returncode == 0

    added = haul(env, "users", "add", "bob", "--limit", "3", "--password-stdin", stdin=PASSWORD)
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "added user bob (id 2)"
    taken = haul(env, "users", "add", "BOB", "--password-stdin", stdin=PASSWORD)
    assert taken.returncode == 1 and "There is already a user named 'BOB'." in taken.stderr
    no_terminal = haul(env, "users", "add", "carol")  # stdin is no terminal: no hanging prompt
    assert no_terminal.returncode == 2 and "--password-stdin" in no_terminal.stderr

    listing = haul(env, "users", "ls")
    assert listing.returncode == 0, listing.stderr
    rows = {line.split()[1]: line.split() for line in listing.stdout.splitlines()[1:]}
    assert rows["alice"][:5] == ["1", "alice", "admin", "default", "enabled"]
    assert rows["bob"][:5] == ["2", "bob", "user", "3", "enabled"]

    edited = haul(env, "users", "edit", "bob", "--role", "admin", "--no-limit", "--disable")
    assert edited.returncode == 0, edited.stderr
    bob = users(srv, env)["bob"]
    assert (bob["role"], bob["limit"], bob["disabled"]) == ("admin", None, True)
    new_password = "a new password for bob"
    by_id = haul(
        env, "users", "edit", "2", "--enable", "--limit", "5", "--password", "--password-stdin",
        stdin=new_password,
    )  # fmt: skip
    assert by_id.returncode == 0, by_id.stderr
    bob = users(srv, env)["bob"]
    assert (bob["limit"], bob["disabled"]) == (5, False)
    bob_env = user_env(srv, tmp_path / "bob")
    wrong = haul(bob_env, "login", "-u", "bob", "--password-stdin", stdin=PASSWORD)
    assert wrong.returncode == 1
    bob_in = haul(bob_env, "login", "-u", "bob", "--password-stdin", stdin=new_password)
    assert bob_in.returncode == 0, bob_in.stderr
    queued = haul(bob_env, "add", "--paused", "http://videos.example/bob.mkv")
    assert queued.returncode == 0, queued.stderr
    # The administrator sees whose it is by name, not by the key user:2.
    everyone = haul(env, "ls")
    assert everyone.returncode == 0, everyone.stderr
    assert everyone.stdout.split("\n")[1].split()[6] == "bob" and "user:" not in everyone.stdout
    shown = haul(env, "show", "1")
    assert [line.split() for line in shown.stdout.splitlines() if "owner" in line] == [
        ["owner", "bob"]
    ]
    nothing = haul(env, "users", "edit", "bob")
    assert nothing.returncode == 2 and "Nothing to change" in nothing.stderr

    # Someone without the admin role may not manage accounts.
    assert haul(env, "users", "edit", "bob", "--role", "user").returncode == 0
    refused = haul(bob_env, "users", "ls")
    assert refused.returncode == 1
    assert refused.stderr.strip() == "Only an administrator can do that."

    last_admin = haul(env, "users", "rm", "alice")
    assert last_admin.returncode == 1
    assert "alice is the only administrator; make another first." in last_admin.stderr
    owns = haul(env, "users", "rm", "bob")  # bob queued a download above
    assert owns.returncode == 1
    assert "bob owns 1 download" in owns.stderr and "--delete-owned" in owns.stderr
    removed = haul(env, "users", "rm", "bob", "nobody", "--delete-owned")
    assert removed.returncode == 1
    assert removed.stdout.strip() == "removed bob (id 2)"
    assert "nobody: There is no user named 'nobody'." in removed.stderr
    assert set(users(srv, env)) == {"alice"}
    gone = haul(bob_env, "whoami")  # bob's tokens went with his account
    assert gone.returncode == 1 and needs_login(srv) in gone.stderr


def test_tokens_are_made_listed_and_revoked_and_logout_ends_the_login(
    accounts_server: HaulServer, tmp_path: Path
) -> None:
    srv = accounts_server
    env = user_env(srv, tmp_path / "config")
    assert haul(env, "login", "-u", "alice", "--password-stdin", stdin=PASSWORD).returncode == 0
    saved_file = tmp_path / "config" / "haul" / "credentials.json"

    made = haul(env, "tokens", "create", "ci")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("haul_") and "\n" not in token  # alone on stdout
    assert "shown this once" in made.stderr
    listing = haul(env, "tokens", "ls")
    [row] = [line for line in listing.stdout.splitlines() if " ci " in line]
    token_id = row.split()[0]
    assert f"{token[:11]}..." in row

    with_token = haul({**env, "HAUL_TOKEN": token}, "whoami")
    assert with_token.returncode == 0 and "user: alice (id 1)" in with_token.stdout
    revoked = haul(env, "tokens", "revoke", token_id)
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.strip() == f"revoked token {token_id}"
    dead = haul({**env, "HAUL_TOKEN": token}, "ls")
    assert dead.returncode == 1
    [line] = dead.stderr.strip().splitlines()
    assert line.startswith(needs_login(srv) + " (the token was refused: ")
    assert "Traceback" not in dead.stderr
    unknown = haul(env, "tokens", "revoke", token_id)
    assert unknown.returncode == 1 and f"There is no token {token_id}." in unknown.stderr

    login_token = saved_token(saved_file, srv)
    out = haul(env, "logout")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"logged out of {srv.url} (alice): token ")
    assert out.stdout.strip().endswith("revoked")
    assert srv.url not in read_saved(saved_file)
    assert api(srv, login_token, "GET", "/auth/me").status_code == 401
    after = haul(env, "ls")
    assert after.returncode == 1 and after.stderr.strip() == needs_login(srv)
    twice = haul(env, "logout")
    assert twice.returncode == 0 and twice.stdout.strip() == f"not logged in to {srv.url}"


def test_a_loopback_instance_without_accounts_needs_no_login(tmp_path: Path) -> None:
    srv = HaulServer(tmp_path / "server", env={"COLUMNS": "200"})
    env = user_env(srv, tmp_path / "config")
    srv.start()
    try:
        me = haul(env, "whoami")
        assert me.returncode == 0, me.stderr
        assert me.stdout.splitlines()[1:] == [
            "mode: single",
            "user: the local user (single-user mode: no login)",
            "role: admin",
        ]
        listed = haul(env, "ls")
        assert listed.returncode == 0, listed.stderr
        login = haul(env, "login", "-u", "alice", "--password-stdin", stdin=PASSWORD)
        assert login.returncode == 1
        assert "single-user instance with no accounts: its commands need no login" in login.stderr
        assert not (tmp_path / "config").exists()
    finally:
        srv.kill()


def refusal(host: str) -> str:
    with pytest.raises(StartRefused) as refused:
        refuse_start("auto", host=host, loopback=False, has_accounts=False)
    return refused.value.message


@pytest.mark.parametrize("how", ["option", "environment"])
def test_serve_refuses_to_open_an_instance_without_accounts(tmp_path: Path, how: str) -> None:
    port = free_port()
    env = {
        **os.environ,
        "HAUL_DATA_DIR": str(tmp_path / "data"),
        "HAUL_PORT": str(port),
        "HAUL_LOG_LEVEL": "warning",
        "HAUL_HOST": "0.0.0.0" if how == "environment" else "127.0.0.1",
    }
    env.pop("HAUL_MODE", None)
    args = ["serve"] if how == "environment" else ["serve", "--host", "0.0.0.0"]
    started = haul(env, *args, timeout=60)
    assert started.returncode == 2
    assert started.stderr.strip() == refusal("0.0.0.0")
    assert "Traceback" not in started.stderr + started.stdout
    with socket.socket() as s:  # it never listened
        s.bind(("127.0.0.1", port))


def test_serve_opens_to_the_network_once_an_administrator_exists(tmp_path: Path) -> None:
    srv = HaulServer(tmp_path / "server", env={"HAUL_HOST": "0.0.0.0"})
    env = user_env(srv, tmp_path / "config")
    make_admin(srv, "alice")
    srv.start()  # stopped by its PID below
    try:
        anonymous = haul(env, "ls")
        assert anonymous.returncode == 1 and anonymous.stderr.strip() == needs_login(srv)
        assert haul(env, "login", "-u", "alice", "--password-stdin", stdin=PASSWORD).returncode == 0
        me = haul(env, "whoami")
        assert me.returncode == 0 and "mode: accounts" in me.stdout
    finally:
        srv.kill()


# -- helpers ---------------------------------------------------------------------------------


def read_saved(path: Path) -> dict[str, Any]:
    import json

    data: dict[str, Any] = json.loads(path.read_text())
    return data


def saved_token(path: Path, server: HaulServer) -> str:
    return str(read_saved(path)[server.url]["token"])


def saved_token_id(path: Path, server: HaulServer) -> int:
    return int(read_saved(path)[server.url]["token_id"])


def api(server: HaulServer, token: str, method: str, path: str) -> httpx.Response:
    return server.api(method, path, headers={"Authorization": f"Bearer {token}"})


def users(server: HaulServer, env: dict[str, str]) -> dict[str, dict[str, Any]]:
    token = saved_token(Path(env["XDG_CONFIG_HOME"]) / "haul" / "credentials.json", server)
    found = api(server, token, "GET", "/users")
    assert found.status_code == 200, found.text
    return {u["username"]: u for u in found.json()}


def test_a_new_password_says_the_tokens_still_work_or_revokes_them(
    accounts_server: HaulServer, tmp_path: Path
) -> None:
    srv = accounts_server
    env = user_env(srv, tmp_path / "alice")
    assert haul(env, "login", "-u", "alice", "--password-stdin", stdin=PASSWORD).returncode == 0
    assert haul(env, "users", "add", "bob", "--password-stdin", stdin=PASSWORD).returncode == 0
    bob_env = user_env(srv, tmp_path / "bob")
    assert haul(bob_env, "login", "-u", "bob", "--password-stdin", stdin=PASSWORD).returncode == 0
    alone = haul(env, "users", "edit", "bob", "--revoke-tokens")
    assert alone.returncode == 2 and "--revoke-tokens goes with a new password" in alone.stderr

    kept = haul(
        env, "users", "edit", "bob", "--password", "--password-stdin", stdin="second password"
    )
    assert kept.returncode == 0, kept.stderr
    assert "its API tokens still work (add --revoke-tokens to end them)" in kept.stdout
    assert haul(bob_env, "whoami").returncode == 0  # bob's saved token still works

    revoked = haul(
        env, "users", "edit", "bob", "--password", "--password-stdin", "--revoke-tokens",
        stdin="third password",
    )  # fmt: skip
    assert revoked.returncode == 0, revoked.stderr
    assert "its API tokens are revoked" in revoked.stdout
    gone = haul(bob_env, "whoami")
    assert gone.returncode == 1 and needs_login(srv) in gone.stderr
