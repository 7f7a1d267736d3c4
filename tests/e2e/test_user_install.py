"""haul as a user installs it: the wheel of this tree in a fresh virtualenv, without the dev
extras, running its own `haul serve` and CLI.

The rest of the suite runs haul from the source tree in the development environment, where
every dev extra is installed; a runtime dependency missing from pyproject.toml (PyAV once)
passes there and breaks every user. Here nothing of the development environment is visible:
no PYTHONPATH, another working directory, only what the wheel pulls in from the package index.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import media
from tests.support.daemons import IN_CI
from tests.support.fixtures import MediaFiles
from tests.support.origin import Origin
from tests.support.server import free_port
from tests.support.wait import wait_for

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class UserInstall:
    venv: Path
    wheel: Path

    @property
    def haul(self) -> str:
        return str(self.venv / "bin" / "haul")

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")


def _run(command: list[str], what: str, timeout: float) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    if done.returncode != 0:
        reason = f"{what} failed: {done.stderr[-3000:] or done.stdout[-3000:]}"
        if IN_CI:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def user_install(tmp_path_factory: pytest.TempPathFactory) -> UserInstall:
    """The wheel of this tree installed into a new virtualenv with its runtime dependencies
    only (once per session: about 40 s). The venv gets no pip of its own: this interpreter's
    pip installs into it, and bytecode is compiled on first import, not at install."""
    base = tmp_path_factory.mktemp("user-install")
    wheels, venv = base / "wheels", base / "venv"
    pip = [sys.executable, "-m", "pip"]
    _run(
        [*pip, "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)], "building the wheel", 300
    )
    wheel = next(wheels.glob("haul-*.whl"))
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], "making a virtualenv", 60)
    python = str(venv / "bin" / "python")
    install = [*pip, "--python", python, "install", "-q", "--no-compile", str(wheel)]
    _run(install, "installing the wheel", 600)
    return UserInstall(venv, wheel)


@dataclass
class UserServer:
    install: UserInstall
    url: str
    data: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.install.haul, *args, "--server", self.url],
            capture_output=True,
            text=True,
            timeout=120,
            env=self.env,
            cwd=self.data,
        )

    def get(self, path: str) -> Any:
        response = httpx.get(f"{self.url}{path}", timeout=30)
        assert response.status_code == 200, (path, response.text)
        return response.json() if "json" in response.headers["content-type"] else response


@pytest.fixture
def user_server(user_install: UserInstall, tmp_path: Path) -> Iterator[UserServer]:
    """That install's `haul serve` on a free loopback port with its own data folder."""
    data = tmp_path / "haul"
    data.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(HAUL_DATA_DIR=str(data), HAUL_HOST="127.0.0.1", HAUL_PORT=str(port))
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [user_install.haul, "serve"], env=env, cwd=data, stdout=log, stderr=subprocess.STDOUT
    )
    server = UserServer(user_install, f"http://127.0.0.1:{port}", data, env, proc)

    def answers() -> bool:
        if proc.poll() is not None:
            raise AssertionError((tmp_path / "serve.log").read_text()[-3000:])
        try:
            return httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(answers, 120, what="the installed haul to answer")
        yield server
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait(10)
        log.close()
        assert code == 0, (tmp_path / "serve.log").read_text()[-3000:]


@pytest.mark.timeout(900)
def test_a_user_install_downloads_probes_and_files_a_film(
    user_server: UserServer, origin: Origin, media_files: MediaFiles
) -> None:
    # the installed haul runs, from the venv, with no dev extra beside it
    script = "import haul, importlib.util as u; print(haul.__file__, u.find_spec('pytest'))"
    where = subprocess.run(
        [user_server.install.python, "-c", script],
        capture_output=True,
        text=True,
        env=user_server.env,
        cwd=user_server.data,
        check=True,
    ).stdout.split()
    assert Path(where[0]).is_relative_to(user_server.install.venv) and where[1] == "None", where
    ready = user_server.get("/api/v1/readyz")
    assert ready["status"] == "ok" and ready["ffmpeg"] == "ok", ready
    assert user_server.get("/api/v1/docs/assets/swagger-ui-bundle.js").content  # docs offline

    origin.add_file("/films/heat.mp4", media_files.mp4.read_bytes(), content_type="video/mp4")
    added = user_server.cli("media", "add", "movie", "Heat", "--year", "1995")
    assert added.returncode == 0 and "media item 1" in added.stdout, added.stderr
    got = user_server.cli("add", "--wait", "--media", "1", origin.url("/films/heat.mp4"))
    assert got.returncode == 0, got.stdout + got.stderr

    # what a user checks: the film in the library under the naming template, probed
    filed = user_server.data / "library" / "Movies" / "Heat (1995)" / "Heat (1995).mp4"
    assert media.sha256(filed) == media.sha256(media_files.mp4)
    shown = " ".join(user_server.cli("media", "show", "1").stdout.split())
    assert "h264 320x240" in shown and "aac 1ch" in shown and "filed (move)" in shown, shown
    files = user_server.get("/api/v1/media/1")["files"]
    assert [(f["is_media"], f["video_codec"], f["width"], f["height"]) for f in files] == [
        (True, "h264", 320, 240)
    ]
    assert files[0]["duration"] == pytest.approx(10, abs=0.5)

    again = user_server.cli("media", "reprocess", "1")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "filed (existing)" in " ".join(again.stdout.split())
    assert sorted(p.name for p in filed.parent.iterdir()) == ["Heat (1995).mp4"]


def test_the_wheel_carries_every_file_of_the_package(user_install: UserInstall) -> None:
    """Templates, static files, migrations and py.typed too, not only the modules."""
    with zipfile.ZipFile(user_install.wheel) as wheel:
        carried = set(wheel.namelist())
    source = ROOT / "src"
    files = {
        path.relative_to(source).as_posix()
        for path in (source / "haul").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert files <= carried, sorted(files - carried)
    for folder in ("web/ui/templates/", "web/ui/static/", "store/migrations/versions/"):
        assert any(name.startswith(f"haul/{folder}") for name in carried), folder
