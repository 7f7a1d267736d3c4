"""`haul serve` makes the first administrator from `HAUL_ADMIN_PASSWORD_FILE` (a container's
secret) while the instance has no account, never shows the password, and reads the file no
more once an account exists; a file it cannot use stops the start with a sentence."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.server import HaulServer, free_port

PASSWORD = "correct horse battery staple"


def test_the_first_administrator_comes_from_the_password_file(tmp_path: Path) -> None:
    secret = tmp_path / "admin_password"
    secret.write_text(PASSWORD + "\n")
    env = {
        "HAUL_MODE": "accounts",
        "HAUL_ADMIN_PASSWORD_FILE": str(secret),
        "HAUL_ADMIN_USERNAME": "keeper",
    }
    server = HaulServer(tmp_path / "data", env=env)
    try:
        server.start(timeout=90)
        login = {"username": "keeper", "password": PASSWORD, "name": "test"}
        made = server.api("POST", "/auth/token", json=login)
        assert made.status_code == 201, made.text
        auth = {"Authorization": f"Bearer {made.json()['token']}"}
        users = server.api("GET", "/users", headers=auth).json()
        assert [(u["username"], u["role"]) for u in users] == [("keeper", "admin")]
    finally:
        stopped = server.stop()
    assert stopped == 0, server.log.read_text()[-3000:]
    first_log = server.log.read_text()
    assert "created the first administrator keeper (HAUL_ADMIN_PASSWORD_FILE)" in first_log
    assert PASSWORD not in first_log
    assert "setup code" not in first_log  # nobody needs /setup

    # once an account exists the file is not read: it may go (a secret removed after setup)
    secret.unlink()
    try:
        server.start(timeout=90)
        again = server.api("POST", "/auth/token", json=login)
        assert again.status_code == 201, again.text
    finally:
        stopped = server.stop()
    assert stopped == 0, server.log.read_text()[-3000:]
    assert server.log.read_text().count("created the first administrator") == 1


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (None, " cannot be read: No such file or directory."),
        ("short\n", ": A password needs at least 8 characters."),
    ],
)
def test_a_password_file_that_cannot_serve_stops_the_start(
    tmp_path: Path, content: str | None, said: str
) -> None:
    secret = tmp_path / "admin_password"
    if content is not None:
        secret.write_text(content)
    env = {
        **os.environ,
        "HAUL_DATA_DIR": str(tmp_path / "data"),
        "HAUL_HOST": "127.0.0.1",
        "HAUL_PORT": str(free_port()),
        "HAUL_ADMIN_PASSWORD_FILE": str(secret),
    }
    run = subprocess.run(
        [sys.executable, "-m", "haul", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    shown = " ".join(run.stderr.split())
    assert f"HAUL_ADMIN_PASSWORD_FILE={secret}{said}" in shown, shown
    assert "Traceback" not in shown and "on http://" not in run.stdout
