"""A real `haul serve` process driven through its CLI, its event stream and a crash."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from haul.core.units import size_text
from haul.store.migrate import head_revision
from tests.support import media
from tests.support.fixtures import MediaFiles
from tests.support.origin import Origin
from tests.support.server import HaulServer
from tests.support.sse import EventListener
from tests.support.wait import wait_for


def item(server: HaulServer, download_id: int) -> dict[str, Any]:
    body: dict[str, Any] = server.api("GET", f"/downloads/{download_id}").json()
    return body


def test_cli_add_wait_downloads_a_file_and_a_page(
    server: HaulServer, origin: Origin, media_files: MediaFiles
) -> None:
    data = os.urandom(1024 * 1024)
    origin.add_file("/f/data.bin", data)
    origin.add_file("/m/clip.mp4", media_files.mp4, content_type="video/mp4")
    origin.add_page("/watch", media.page_with_video(origin.url("/m/clip.mp4")))
    result = server.cli("add", "--wait", origin.url("/f/data.bin"), origin.url("/watch"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert (server.downloads / "data.bin").read_bytes() == data
    clips = [p for p in server.downloads.iterdir() if p.suffix == ".mp4"]
    assert [media.sha256(p) for p in clips] == [media.sha256(media_files.mp4)]
    listing = server.cli("ls")
    assert listing.returncode == 0 and listing.stdout.count("completed") == 2
    shown = server.cli("show", "1")
    assert "data.bin" in shown.stdout and "completed" in shown.stdout


def test_cli_reports_failures_with_exit_code(server: HaulServer, origin: Origin) -> None:
    origin.add_file("/nope", b"")
    origin.fault("/nope", "404", times=None)
    result = server.cli("add", "--wait", origin.url("/nope"))
    assert result.returncode == 1
    assert "404" in result.stderr
    bad = server.cli("add", "file:///etc/passwd")
    assert bad.returncode == 1 and "'file:'" in bad.stderr


def test_cli_pause_resume_cancel(server: HaulServer, origin: Origin) -> None:
    origin.add_file("/slow", os.urandom(2 * 1024 * 1024))
    origin.throttle("/slow", 256 * 1024)
    assert server.cli("add", origin.url("/slow")).returncode == 0
    wait_for(lambda: item(server, 1)["status"] == "downloading", 20)
    assert "paused" in server.cli("pause", "1").stdout
    assert (
        "queued" in server.cli("resume", "1").stdout or item(server, 1)["status"] == "downloading"
    )
    result = server.cli("cancel", "1", "--delete-files")
    assert result.returncode == 0 and "canceled" in result.stdout
    assert item(server, 1)["status"] == "canceled"  # kept in view; `haul rm` removes it
    assert server.cli("pause", "42").returncode == 1


def test_sse_pushes_progress_at_least_every_half_second(server: HaulServer, origin: Origin) -> None:
    origin.add_file("/stream.bin", os.urandom(3 * 1024 * 1024))
    origin.throttle("/stream.bin", 512 * 1024)
    events = EventListener(server.url).start()
    created = server.api("POST", "/downloads", json={"url": origin.url("/stream.bin")}).json()
    assert events.completed.wait(60), "no completion event"
    progress = events.progress(created["id"])
    assert len(progress) >= 5
    gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(progress)]
    assert max(gaps) < 0.75, gaps
    sizes = [e["downloaded_bytes"] for e in progress]
    assert sizes == sorted(sizes) and sizes[-1] > sizes[0]


def test_sigkill_mid_download_then_restart_finishes_everything(
    tmp_path: Path, origin: Origin
) -> None:
    files = {f"/crash/{n}.bin": os.urandom(1024 * 1024 + n) for n in range(3)}
    for path, data in files.items():
        origin.add_file(path, data)
        origin.throttle(path, 200 * 1024)
    server = HaulServer(tmp_path / "srv").start()
    try:
        ids = [
            server.api("POST", "/downloads", json={"url": origin.url(p)}).json()["id"]
            for p in files
        ]
        wait_for(lambda: all((item(server, i)["downloaded_bytes"] or 0) > 100_000 for i in ids), 30)
        server.kill()
        served_before = {p: origin.bytes_served(p) for p in files}
        for path in files:
            origin.throttle(path, None)
        server.start()
        wait_for(
            lambda: all(item(server, i)["status"] == "completed" for i in ids),
            60,
            what="all downloads to complete after the restart",
        )
        for download_id, (path, data) in zip(ids, files.items(), strict=True):
            got = item(server, download_id)
            file = server.downloads / got["files"][0]["path"]
            assert hashlib.sha256(file.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
            # It resumed: the restart fetched the rest, not the whole file again.
            after = origin.bytes_served(path) - served_before[path]
            assert after < len(data) - 50_000, (path, after)
    finally:
        server.kill()


def test_cli_downloads_hls_and_playlists(
    server: HaulServer, origin: Origin, media_files: MediaFiles
) -> None:
    origin.add_dir("/hls", media_files.hls.parent)
    origin.add_file("/m/a.mp4", media_files.mp4, content_type="video/mp4")
    origin.add_file("/m/b.mp4", media_files.mkv, content_type="video/mp4")
    origin.add_page(
        "/pl", media.page_with_two_videos(origin.url("/m/a.mp4"), origin.url("/m/b.mp4"))
    )
    result = server.cli("add", "--wait", origin.url("/hls/index.m3u8"), origin.url("/pl"))
    assert result.returncode == 0, result.stdout + result.stderr
    listed = server.api("GET", "/downloads").json()["items"]
    assert sorted(i["status"] for i in listed) == ["completed", "completed"]
    playlist = next(i for i in listed if i["children"])
    children = server.api("GET", "/downloads", params={"parent_id": playlist["id"]}).json()["items"]
    got = sorted(media.sha256(server.downloads / c["files"][0]["path"]) for c in children)
    assert got == sorted([media.sha256(media_files.mp4), media.sha256(media_files.mkv)])
    # The playlist shows what its entries add up to, and lists them (id, status, title).
    server.env["COLUMNS"] = "200"
    shown = server.cli("show", str(playlist["id"]))
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert ["message", "2", "of", "2", "downloaded"] in [line.split() for line in lines]
    total = sum(c["total_bytes"] for c in children)
    assert any(line.split()[:2] == ["total_bytes", size_text(total).split()[0]] for line in lines)
    entries = lines[[line.strip() for line in lines].index("playlist entries") + 2 :]
    assert [line.split()[:2] for line in entries if line.strip()] == [
        [str(c["id"]), "completed"] for c in sorted(children, key=lambda c: c["id"])
    ]
    assert all(c["title"] in shown.stdout for c in children)


def test_sigterm_stops_cleanly_and_work_resumes(tmp_path: Path, origin: Origin) -> None:
    data = os.urandom(2 * 1024 * 1024)
    origin.add_file("/term.bin", data)
    origin.throttle("/term.bin", 256 * 1024)
    server = HaulServer(tmp_path / "srv").start()
    try:
        created = server.api("POST", "/downloads", json={"url": origin.url("/term.bin")}).json()
        wait_for(lambda: (item(server, created["id"])["downloaded_bytes"] or 0) > 100_000, 30)
        started = time.monotonic()
        assert server.stop() == 0
        assert time.monotonic() - started < 10
        origin.throttle("/term.bin", None)
        server.start()
        wait_for(lambda: item(server, created["id"])["status"] == "completed", 30)
        assert (server.downloads / "term.bin").read_bytes() == data
        assert origin.bytes_served("/term.bin") < len(data) + 300_000
    finally:
        server.kill()


def test_db_upgrade_and_worker_refusal(tmp_path: Path) -> None:
    env = {**os.environ, "HAUL_DATA_DIR": str(tmp_path / "d")}
    upgraded = subprocess.run(
        [sys.executable, "-m", "haul", "db", "upgrade"], capture_output=True, text=True, env=env
    )
    assert upgraded.returncode == 0 and f"revision {head_revision()}" in upgraded.stdout
    assert (tmp_path / "d" / "haul.db").exists()
    command = [sys.executable, "-m", "haul", "worker"]
    worker = subprocess.run(command, capture_output=True, text=True, env=env, timeout=30)
    assert worker.returncode == 2 and "needs PostgreSQL" in worker.stderr


def connected(pid: int, port: int | None) -> bool:
    """Whether process ``pid`` holds an established TCP connection to ``port`` on this host
    (its sockets in /proc matched against the kernel's table of IPv4 connections)."""
    sockets = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                sockets.add(target[8:-1])
    with open("/proc/net/tcp") as table:
        for line in list(table)[1:]:
            fields = line.split()
            remote_port = int(fields[2].split(":")[1], 16)
            if fields[3] == "01" and fields[9] in sockets and remote_port == port:
                return True
    return False


def test_cli_watch_shows_live_state_until_interrupted(server: HaulServer, origin: Origin) -> None:
    origin.add_file("/watched.bin", os.urandom(2 * 1024 * 1024))
    origin.throttle("/watched.bin", 256 * 1024)
    created = server.api("POST", "/downloads", json={"url": origin.url("/watched.bin")}).json()
    env = {**server.env, "COLUMNS": "160"}
    command = [sys.executable, "-m", "haul", "watch", "--server", server.url]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    port = urlsplit(server.url).port
    try:
        wait_for(lambda: item(server, created["id"])["status"] == "downloading", 20)
        wait_for(lambda: (item(server, created["id"])["downloaded_bytes"] or 0) > 300_000, 20)
        # interrupted once it watches (connected to the server), not while it starts
        wait_for(lambda: connected(proc.pid, port), 20, what="haul watch to connect")
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    text = out.decode()
    assert proc.returncode == 0
    assert "downloading" in text and "watched.bin" in text
