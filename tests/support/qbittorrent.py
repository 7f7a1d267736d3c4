"""A real qbittorrent-nox for the tests: WebUI and BitTorrent port on loopback, in a temporary
profile, stopped by its own PID (SIGTERM, then wait).

    with qbittorrent_daemon(tmp_path / "qbit") as daemon:
        client = QBittorrentClient(daemon.url, daemon.username, daemon.password)
        # peers dial 127.0.0.1:daemon.peer_port; files land in daemon.dir by default

The profile's ``qBittorrent.conf`` is written before the first start (an empty profile listens
on 0.0.0.0:8080 with DHT on): legal notice accepted, WebUI on 127.0.0.1 with a PBKDF2 password
and no ban after failed logins, the session bound to ``lo`` with DHT, LSD, PeX and UPnP off,
queueing and peer-country lookups (a download) off and a 200 ms refresh interval. Without
``qbittorrent-nox`` on PATH the test is skipped, except in CI (``CI=true``) where it fails.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import qbittorrentapi

from tests.support.daemons import free_ports, require, terminate

START_TIMEOUT = 15.0
USERNAME = "haul"


@dataclass
class QbitDaemon:
    url: str  # http://127.0.0.1:P (the WebUI)
    username: str
    password: str
    peer_port: int  # its BitTorrent listening port on 127.0.0.1
    dir: Path  # the default save path
    profile: Path
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def api(self) -> qbittorrentapi.Client:
        """The daemon reached directly, the way a person's own tools would."""
        return qbittorrentapi.Client(
            host=self.url,
            username=self.username,
            password=self.password,
            FORCE_SCHEME_FROM_HOST=True,
            SIMPLE_RESPONSES=True,
            DISABLE_LOGGING_DEBUG_OUTPUT=True,
        )

    def stop(self) -> None:
        """SIGTERM (qBittorrent saves its resume data and exits), then wait; idempotent."""
        terminate(self.process, timeout=15)


def qbittorrent_path() -> str:
    """qbittorrent-nox's path; skips the test without it, or fails it in CI."""
    return require("qbittorrent-nox", "qbittorrent-nox")


def password_pbkdf2(password: str, salt: bytes | None = None) -> str:
    """The value of ``WebUI\\Password_PBKDF2``: PBKDF2-HMAC-SHA512, 100,000 rounds."""
    salt = salt or os.urandom(16)
    key = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, 100_000, dklen=64)
    return f"@ByteArray({base64.b64encode(salt).decode()}:{base64.b64encode(key).decode()})"


def write_config(
    profile: Path, *, web_port: int, peer_port: int, save_path: Path, password: str
) -> Path:
    """Write ``<profile>/qBittorrent/config/qBittorrent.conf``; returns its path."""
    config = profile / "qBittorrent" / "config" / "qBittorrent.conf"
    config.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "[LegalNotice]",
        "Accepted=true",
        "",
        "[BitTorrent]",
        "Session\\Interface=lo",
        "Session\\InterfaceName=lo",
        f"Session\\Port={peer_port}",
        "Session\\DHTEnabled=false",
        "Session\\LSDEnabled=false",
        "Session\\PeXEnabled=false",
        "Session\\QueueingSystemEnabled=false",
        # every test peer is on 127.0.0.1: without this libtorrent keeps one peer per address
        "Session\\MultiConnectionsPerIp=true",
        "Session\\RefreshInterval=200",
        f"Session\\DefaultSavePath={save_path}",
        "Session\\TempPathEnabled=false",
        "Session\\AnonymousModeEnabled=false",
        "",
        "[Network]",
        "PortForwardingEnabled=false",
        "",
        "[Preferences]",
        "Connection\\UPnP=false",
        f"Connection\\PortRangeMin={peer_port}",
        "Connection\\ResolvePeerCountries=false",  # else it fetches a GeoIP database
        "General\\Locale=en",
        "WebUI\\Enabled=true",
        "WebUI\\Address=127.0.0.1",
        f"WebUI\\Port={web_port}",
        "WebUI\\UseUPnP=false",
        f"WebUI\\Username={USERNAME}",
        f'WebUI\\Password_PBKDF2="{password_pbkdf2(password)}"',
        "WebUI\\MaxAuthenticationFailCount=0",
        "WebUI\\LocalHostAuth=true",
        "",
    ]
    config.write_text("\n".join(lines))
    return config


def _answers_login(url: str, password: str) -> bool:
    try:
        with httpx.Client(timeout=1.0) as http:
            answer = http.post(
                f"{url}/api/v2/auth/login",
                data={"username": USERNAME, "password": password},
                headers={"Referer": url},
            )
    except httpx.HTTPError:
        return False
    return answer.status_code == 200 and answer.text.strip() == "Ok."


def _start(binary: str, root: Path, password: str) -> QbitDaemon:
    web_port, peer_port = free_ports(2)
    save_path = root / "downloads"
    save_path.mkdir(parents=True, exist_ok=True)
    profile = root / "profile"
    write_config(
        profile, web_port=web_port, peer_port=peer_port, save_path=save_path, password=password
    )
    log = (root / "qbittorrent-nox.out").open("ab")
    with log:
        process = subprocess.Popen(
            [binary, f"--profile={profile}"],
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{web_port}"
    return QbitDaemon(url, USERNAME, password, peer_port, save_path, profile, process)


@contextlib.contextmanager
def qbittorrent_daemon(root: Path) -> Iterator[QbitDaemon]:
    """Start qbittorrent-nox with a fresh profile under ``root``; yields once login answers."""
    binary = qbittorrent_path()
    root.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    for _attempt in range(3):  # a free port may be taken between probe and bind
        daemon = _start(binary, root, password)
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not _answers_login(daemon.url, password):
                if daemon.process.poll() is not None:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"qbittorrent-nox did not answer within {START_TIMEOUT} s")
                time.sleep(0.02)
            else:
                yield daemon
                return
        finally:
            daemon.stop()
    raise RuntimeError("qbittorrent-nox exited at start three times (port in use?)")
