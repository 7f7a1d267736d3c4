"""A real aria2c daemon for the tests: on a free loopback port, in a temporary folder, stopped
by its own PID (SIGTERM, which also saves the session, then wait).

    with aria2_daemon(tmp_path) as daemon:
        client = Aria2Client(daemon.url, daemon.secret)   # files land in daemon.dir

Without ``aria2c`` on PATH the test is skipped, except in CI (``CI=true``) where it fails.
"""

from __future__ import annotations

import contextlib
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.daemons import free_port, require, terminate

START_TIMEOUT = 10.0


@dataclass
class Aria2Daemon:
    url: str  # http://127.0.0.1:P/jsonrpc
    secret: str
    dir: Path  # the default download folder
    session: Path  # input and save-session file
    process: subprocess.Popen[bytes]
    peer_port: int = 0  # its BitTorrent listening port on 127.0.0.1

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        """SIGTERM (aria2 saves its session and exits), then wait; idempotent.

        aria2 notices the signal only when its event loop wakes, which may take a second when
        idle; a connection to its RPC port wakes it at once.
        """
        parsed = httpx.URL(self.url)
        terminate(self.process, wake=(parsed.host, parsed.port or 80))


def aria2c_path() -> str:
    """aria2c's path; skips the test without it, or fails it in CI."""
    return require("aria2c", "aria2")


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
    port = port or free_port()
    peer_port = free_port()
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
            f"--listen-port={peer_port}",  # where a seeder of the tests dials it
            "--quiet",
        ],
        cwd=root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return Aria2Daemon(url, secret, downloads, session, process, peer_port)


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
