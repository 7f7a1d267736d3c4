"""A real ``haul serve`` process for end-to-end tests, started and stopped by its PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.wait import wait_for


def haul_python() -> str:
    """The Python that runs haul's processes: the test run's own, or the user install that
    ``./run bench`` makes (``HAUL_SERVER_PYTHON``), so figures are those of what users get."""
    return os.environ.get("HAUL_SERVER_PYTHON") or sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Process:
    """A haul subprocess, stopped by its own PID."""

    proc: subprocess.Popen[bytes] | None = None

    def kill(self) -> None:
        """SIGKILL: a crash, no cleanup."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
            self.proc = None

    def stop(self) -> int | None:
        """SIGTERM, then the exit code (SIGKILL after 20 s)."""
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(10)
        self.proc = None
        return code


class HaulServer(_Process):
    def __init__(self, data_dir: Path, *, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "HAUL_DATA_DIR": str(data_dir),
            "HAUL_HOST": "127.0.0.1",
            "HAUL_PORT": str(self.port),
            "HAUL_LOG_LEVEL": "warning",
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir / "server.log"

    @property
    def downloads(self) -> Path:
        return Path(self.env.get("HAUL_DOWNLOAD_DIR", self.data_dir / "downloads"))

    def start(self, timeout: float = 60.0) -> HaulServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [haul_python(), "-m", "haul", "serve"], env=self.env, stdout=log, stderr=log
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"haul serve exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.kill()  # not left running behind a failed test
        raise RuntimeError(
            f"haul serve did not answer /healthz in {timeout:.0f} s: {self.log.read_text()[-2000:]}"
        )

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, f"{self.url}/api/v1{path}", timeout=30, **kwargs)

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "haul", *args, "--server", self.url],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env,
        )


def failed_download(server: HaulServer, url: str) -> dict[str, Any]:
    """Add ``url`` through the server's API and wait until it has failed for good (a link
    that cannot be downloaded); the download as the API shows it then."""
    created = server.api("POST", "/downloads", json={"url": url})
    assert created.status_code == 201, created.text
    download_id = created.json()["id"]

    def done() -> dict[str, Any] | None:
        item: dict[str, Any] = server.api("GET", f"/downloads/{download_id}").json()
        return item if item["status"] in ("failed", "completed") else None

    item = wait_for(done, 60, what=f"download {download_id} to fail")
    assert item["status"] == "failed", item
    return item


class HaulWorker(_Process):
    """A real `haul worker` process (PostgreSQL only), stopped by its PID."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = {**os.environ, "HAUL_LOG_LEVEL": "warning", **env}
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> HaulWorker:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [haul_python(), "-m", "haul", "worker"], env=self.env, stdout=log, stderr=log
            )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid
