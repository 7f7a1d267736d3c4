"""A PostgreSQL server for the tests: the one on 127.0.0.1:5432 if it answers, else a
throwaway cluster started here (as user postgres, since initdb refuses root).

In CI (``CI=true``) a PostgreSQL that can be neither found nor started fails the run.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class Throwaway:
    """A PostgreSQL cluster of the tests' own in a temporary folder, on a free port, run as
    user postgres (initdb refuses root); started, stopped and started again by its PID, so a
    test may restart it (never the shared server on 5432)."""

    def __init__(self) -> None:
        bindir = _pg_bin()
        if bindir is None:
            raise RuntimeError("no PostgreSQL binaries are installed (apt-get install postgresql)")
        self.bindir = bindir
        self.base = Path(tempfile.mkdtemp(prefix="haul-pg-"))
        shutil.chown(self.base, "postgres", "postgres")
        self.data, self.port = self.base / "data", _free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.proc: subprocess.Popen[bytes] | None = None
        self._as_pg = {"user": "postgres"} if os.geteuid() == 0 else {}
        subprocess.run(
            [bindir / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres"],
            check=True,
            capture_output=True,
            **self._as_pg,
        )  # type: ignore[arg-type]

    def start(self) -> Throwaway:
        self.proc = subprocess.Popen(
            [
                self.bindir / "postgres",
                "-D",
                self.data,
                "-p",
                str(self.port),
                "-k",
                str(self.base),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            **self._as_pg,  # type: ignore[arg-type]
        )
        deadline = time.monotonic() + 30
        while not _answers(self.url):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("the throwaway PostgreSQL did not start")
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        """Fast shutdown (SIGINT to the postmaster: sessions are ended), waiting for it."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(30)
            self.proc = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Yield the URL of a maintenance database on a reachable server."""
    url = os.environ.get("HAUL_TEST_POSTGRES", DEFAULT_URL)
    if _answers(url):
        yield url
        return
    if _pg_bin() is None:
        raise RuntimeError(
            f"No PostgreSQL answers at {url} and no PostgreSQL binaries are installed "
            "(apt-get install postgresql)"
        )
    cluster = Throwaway()
    try:
        yield cluster.start().url
    finally:
        cluster.remove()


@contextlib.contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new empty database on the server, dropped afterwards."""
    name = f"haul_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
