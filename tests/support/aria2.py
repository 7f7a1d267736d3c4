"""A real aria2c daemon for the tests: on a free loopback port, in a temporary folder, stopped
by its own PID (SIGTERM, which also saves the session, then wait).

    with aria2_daemon(tmp_path) as daemon:
        client = Aria2Client(daemon.url, daemon.secret)   # files land in daemon.dir

Without ``aria2c`` on PATH the test is skipped, except in CI (``CI=true``) where it fails.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"
START_TIMEOUT = 10.0


@dataclass
class Aria2Daemon:
    url: str  # http://127.0.0.1:P/jsonrpc
    secret: str
    dir: Path  # the default download folder
    session: Path  # input and save-session file
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        """SIGTERM (aria2 saves its session and exits), then wait; idempotent.

        aria2 notices the signal only when its event loop wakes, which may take a second when
        idle; a connection to its RPC port wakes it at once.
        """
        if self.process.poll() is not None:
            return
        self._signal(signal.SIGCONT)  # in case a test froze it
        self._signal(signal.SIGTERM)
        with contextlib.suppress(OSError), socket.create_connection(self._address, timeout=1):
            pass
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    @property
    def _address(self) -> tuple[str, int]:
        parsed = httpx.URL(self.url)
        return parsed.host, parsed.port or 80

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signum)


def aria2c_path() -> str:
    """aria2c's path; skips the test without it, or fails it in CI."""
    found = shutil.which("aria2c")
    if found is None:
        if IN_CI:
            raise RuntimeError("aria2c is required in CI (apt-get install aria2)")
        pytest.skip("aria2c is not installed")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str, secret: str) -> bool:
    body = {
        "jsonrpc": "2.0",
        "id": "ready",
        "method": "aria2.getVersion",
        "params": [f"token:{secret}"],
    }
    try:
        with httpx.Client(timeout=1.0) as http:
            return "result" in http.post(url, json=body).json()
    except (httpx.HTTPError, ValueError):
        return False


def _start(
    binary: str, root: Path, session: Path, secret: str, port: int | None = None
) -> Aria2Daemon:
    port = port or _free_port()
    url = f"http://127.0.0.1:{port}/jsonrpc"
    downloads = root / "downloads"
    downloads.mkdir(exist_ok=True)
    process = subprocess.Popen(
        [
            binary,
            "--enable-rpc",
            "--rpc-listen-all=false",
            f"--rpc-listen-port={port}",
            f"--rpc-secret={secret}",
            f"--dir={downloads}",
            f"--input-file={session}",
            f"--save-session={session}",
            "--save-session-interval=1",
            "--file-allocation=none",
            "--enable-dht=false",
            "--enable-dht6=false",
            "--bt-enable-lpd=false",
            "--enable-peer-exchange=false",
            "--quiet",
        ],
        cwd=root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return Aria2Daemon(url, secret, downloads, session, process)


@contextlib.contextmanager
def aria2_daemon(
    root: Path,
    *,
    session: Path | None = None,
    port: int | None = None,
    secret: str | None = None,
) -> Iterator[Aria2Daemon]:
    """Start aria2c with ``root`` as its home; ``session`` (created empty if missing) lets a
    second daemon pick up what a first one saved, on the same ``port`` with the same
    ``secret`` if given. Yields once getVersion answers."""
    binary = aria2c_path()
    root.mkdir(parents=True, exist_ok=True)
    session = session or root / "session.txt"
    session.touch()
    secret = secret or secrets.token_hex(8)
    for _attempt in range(3):  # a free port may be taken between probe and bind
        daemon = _start(binary, root, session, secret, port)
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not _answers(daemon.url, secret):
                if daemon.process.poll() is not None:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"aria2c did not answer within {START_TIMEOUT} s")
                time.sleep(0.02)
            else:
                yield daemon
                return
        finally:
            daemon.stop()
    raise RuntimeError("aria2c exited at start three times (port in use?)")
