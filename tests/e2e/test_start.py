"""How `haul serve` starts: its address once it answers, a taken port, a missing FFmpeg, and a
SIGTERM while the database migration runs."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx

from haul.store.migrate import current_revision, head_revision
from tests.support.server import HaulServer, free_port
from tests.support.wait import wait_for


def serve_env(data_dir: Path, port: int, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "HAUL_DATA_DIR": str(data_dir),
        "HAUL_HOST": "127.0.0.1",
        "HAUL_PORT": str(port),
        "HAUL_LOG_LEVEL": "warning",
        **extra,
    }


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # after the command in parentheses: state, then the parent's id
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_the_address_is_printed_once_the_server_answers_there(tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "haul", "serve"]
    proc = subprocess.Popen(
        command, env=serve_env(tmp_path, port), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        assert f"on http://127.0.0.1:{port}" in line, line
        # at once, without a retry: it listens and has started when it says so
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/readyz", timeout=5).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    assert proc.returncode == 0


def test_a_taken_port_is_one_sentence_and_a_failure(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = subprocess.run(
            [sys.executable, "-m", "haul", "serve"],
            env=serve_env(tmp_path, port),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert run.returncode != 0
    assert "on http://" not in run.stdout
    said = " ".join(run.stderr.split())
    assert f"haul cannot listen on http://127.0.0.1:{port}: another program" in said, said
    assert "Errno" not in said and "Traceback" not in said


def test_a_missing_ffmpeg_is_said_at_start_and_in_readiness(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    server = HaulServer(tmp_path / "srv", env={"PATH": str(empty)}).start()
    try:
        ready = server.api("GET", "/readyz")
        assert ready.status_code == 200
        body = ready.json()
        assert body["status"] == "degraded"
        assert body["ffmpeg"].startswith("ffmpeg and ffprobe not found on PATH"), body
        log = server.log.read_text()
        assert "ffmpeg and ffprobe not found on PATH: downloads that merge" in log
    finally:
        server.stop()


def test_sigterm_during_the_migration_leaves_no_process_behind(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    database = data / "haul.db"
    # Another program holds SQLite's write lock: the migration child waits for it (up to 5 s).
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("CREATE TABLE IF NOT EXISTS other (x)")
    holder.execute("BEGIN IMMEDIATE")
    proc = subprocess.Popen(
        [sys.executable, "-m", "haul", "serve"],
        env=serve_env(data, free_port()),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        migrating = wait_for(lambda: children(proc.pid), 20, what="the migration child")
        proc.send_signal(signal.SIGTERM)
        holder.execute("ROLLBACK")
        out, err = proc.communicate(timeout=30)
    finally:
        holder.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err.decode()
    assert b"on http://" not in out
    wait_for(lambda: not any(alive(pid) for pid in migrating), 10, what="no child left")
    # the migration was finished, not left half done
    assert current_revision(f"sqlite:///{database}") == head_revision()
