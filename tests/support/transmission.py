"""A real transmission-daemon for the tests: loopback only, in a temporary folder, stopped by
its own PID (SIGTERM, then wait).

    with transmission_daemon(tmp_path / "tr") as daemon:
        client = TransmissionClient(daemon.url, daemon.username, daemon.password)
        # torrents land in daemon.dir; peers connect to 127.0.0.1:daemon.peer_port

``settings.json`` is written before the start, so the daemon never runs with its defaults
(which listen on every address with DHT, LPD, PEX and port forwarding on). Transmission never
dials peers on 127.x itself: the other side of a transfer must connect to ``peer_port``.

Without ``transmission-daemon`` on PATH the test is skipped, except in CI (``CI=true``) where
it fails.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.daemons import free_port, require, terminate

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
RPC_PATH = "/transmission/rpc"


@dataclass
class TransmissionDaemon:
    url: str  # http://127.0.0.1:P/transmission/rpc
    host: str
    port: int
    username: str
    password: str
    peer_port: int  # where peers connect (Transmission does not dial loopback peers)
    dir: Path  # the default download folder
    config: Path  # the -g folder holding settings.json, resume and torrent files
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        """SIGTERM (Transmission saves its state and exits), then wait; idempotent."""
        terminate(self.process, timeout=STOP_TIMEOUT)


def transmission_path() -> str:
    """transmission-daemon's path; skips the test without it, or fails it in CI."""
    return require("transmission-daemon", "transmission-daemon")


def settings(
    *, rpc_port: int, peer_port: int, username: str, password: str, downloads: Path
) -> dict[str, object]:
    """Transmission 3.00 settings: RPC and peers on loopback, nothing that reaches out."""
    return {
        "rpc-enabled": True,
        "rpc-bind-address": "127.0.0.1",
        "rpc-port": rpc_port,
        "rpc-url": "/transmission/",
        "rpc-authentication-required": True,
        "rpc-username": username,
        "rpc-password": password,  # plain here; the daemon stores its salted hash on exit
        "rpc-whitelist-enabled": True,
        "rpc-whitelist": "127.0.0.1",
        "rpc-host-whitelist-enabled": False,
        "bind-address-ipv4": "127.0.0.1",
        "bind-address-ipv6": "::1",
        "peer-port": peer_port,
        "peer-port-random-on-start": False,
        "port-forwarding-enabled": False,
        "dht-enabled": False,
        "lpd-enabled": False,
        "pex-enabled": False,
        "utp-enabled": False,
        "blocklist-enabled": False,
        "download-dir": str(downloads),
        "incomplete-dir-enabled": False,
        "watch-dir-enabled": False,
        "start-added-torrents": True,
        "trash-original-torrent-files": False,
        "download-queue-enabled": False,
        "seed-queue-enabled": False,
        "queue-stalled-enabled": False,
        "ratio-limit-enabled": False,
        "idle-seeding-limit-enabled": False,
        "message-level": 2,
    }


def _loaded(url: str, username: str, password: str) -> int | None:
    """How many torrents the RPC lists, or None while it does not answer (Transmission first
    replies 409 with the session id to send)."""
    auth = base64.b64encode(f"{username}:{password}".encode()).decode()
    headers = {"Authorization": f"Basic {auth}"}
    body = {"method": "torrent-get", "arguments": {"fields": ["hashString"]}}
    try:
        with httpx.Client(timeout=1.0) as http:
            response = http.post(url, json=body, headers=headers)
            if response.status_code == 409:
                headers["X-Transmission-Session-Id"] = response.headers.get(
                    "X-Transmission-Session-Id", ""
                )
                response = http.post(url, json=body, headers=headers)
            answer = response.json()
    except (httpx.HTTPError, ValueError):
        return None
    if response.status_code != 200 or answer.get("result") != "success":
        return None
    return len(answer["arguments"]["torrents"])


def _ready(daemon: TransmissionDaemon) -> bool:
    """Whether the RPC answers and lists every torrent saved in the config folder: the RPC
    answers about 0.1 s before a restarted daemon has loaded its saved torrents."""
    listed = _loaded(daemon.url, daemon.username, daemon.password)
    saved = len(list((daemon.config / "torrents").glob("*.torrent")))
    return listed is not None and listed >= saved


def _start(binary: str, root: Path, username: str, password: str) -> TransmissionDaemon:
    port, peer_port = free_port(), free_port()
    while peer_port == port:
        peer_port = free_port()
    config = root / "config"
    downloads = root / "downloads"
    config.mkdir(parents=True, exist_ok=True)
    downloads.mkdir(parents=True, exist_ok=True)
    values = settings(
        rpc_port=port,
        peer_port=peer_port,
        username=username,
        password=password,
        downloads=downloads,
    )
    (config / "settings.json").write_text(json.dumps(values, indent=2))
    log = root / "transmission.log"
    process = subprocess.Popen(
        [binary, "-f", "-g", str(config), "--logfile", str(log)],
        cwd=root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return TransmissionDaemon(
        url=f"http://127.0.0.1:{port}{RPC_PATH}",
        host="127.0.0.1",
        port=port,
        username=username,
        password=password,
        peer_port=peer_port,
        dir=downloads,
        config=config,
        log=log,
        process=process,
    )


@contextlib.contextmanager
def transmission_daemon(root: Path) -> Iterator[TransmissionDaemon]:
    """Start transmission-daemon with ``root`` as its home; yields once its RPC answers and
    lists the torrents a previous daemon with the same ``root`` left (fresh ports and
    password each time)."""
    binary = transmission_path()
    root.mkdir(parents=True, exist_ok=True)
    username = "haul"
    password = secrets.token_hex(8)
    for _attempt in range(3):  # a free port may be taken between probe and bind
        daemon = _start(binary, root, username, password)
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not _ready(daemon):
                if daemon.process.poll() is not None:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"transmission-daemon did not answer within {START_TIMEOUT} s "
                        f"(log: {daemon.log})"
                    )
                time.sleep(0.02)
            else:
                yield daemon
                return
        finally:
            daemon.stop()
    raise RuntimeError("transmission-daemon exited at start three times (port in use?)")
