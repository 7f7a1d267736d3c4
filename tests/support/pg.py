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
import pytest

from haul.store.migrate import upgrade
from tests.support.daemons import IN_CI

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


class Cluster:
    """A throwaway PostgreSQL cluster of the test's own, in a temporary folder, on a free
    port: started, stopped (fast shutdown: clients are disconnected, as in a real restart)
    and restarted by its own PID. Never the shared server on 127.0.0.1:5432."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.base = Path(tempfile.mkdtemp(prefix="haul-pg-"))
        shutil.chown(self.base, "postgres", "postgres")
        self.data = self.base / "data"
        self.port = _free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.proc: subprocess.Popen[bytes] | None = None
        self._as_pg = {"user": "postgres"} if os.geteuid() == 0 else {}
        subprocess.run(
            [bindir / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres"],
            check=True,
            capture_output=True,
            **self._as_pg,
        )  # type: ignore[arg-type]

    def start(self) -> None:
        """Start the server and wait until it answers."""
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

    def stop(self) -> None:
        """Fast shutdown (SIGINT: every client is disconnected), then wait; idempotent."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    """A running :class:`Cluster` of the test's own, removed afterwards; without PostgreSQL's
    binaries the test is skipped (failed in CI)."""
    bindir = _pg_bin()
    if bindir is None:
        if IN_CI:
            raise RuntimeError("PostgreSQL is required in CI (apt-get install postgresql)")
        pytest.skip("no PostgreSQL binaries to start a cluster of the test's own")
    cluster = Cluster(bindir)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Yield the URL of a maintenance database on a reachable server."""
    url = os.environ.get("HAUL_TEST_POSTGRES", DEFAULT_URL)
    if _answers(url):
        yield url
        return
    bindir = _pg_bin()
    if bindir is None:
        raise RuntimeError(
            f"No PostgreSQL answers at {url} and no PostgreSQL binaries are installed "
            "(apt-get install postgresql)"
        )
    cluster = Cluster(bindir)
    try:
        cluster.start()
        yield cluster.url
    finally:
        cluster.remove()


@contextlib.contextmanager
def _database(server_url: str, name: str, template: str | None = None) -> Iterator[str]:
    """Create the database ``name`` (empty, or a copy of ``template``), yield its URL, drop it."""
    copy = f' TEMPLATE "{template}"' if template else ""
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"{copy}')
    try:
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def fresh_database(server_url: str, template: str | None = None) -> Iterator[str]:
    """A new database on the server, dropped afterwards: empty, or a copy of the database
    ``template`` (see :func:`migrated_template`)."""
    with _database(server_url, f"haul_t_{uuid.uuid4().hex[:12]}", template) as url:
        yield url


@contextlib.contextmanager
def migrated_template(server_url: str) -> Iterator[str]:
    """The name of a database migrated to the head by haul's own :func:`upgrade` (the one an
    app runs at start), for :func:`fresh_database` to copy; dropped afterwards. PostgreSQL
    copies a database only while no connection has it open: nothing connects to it after
    the upgrade, which closes every connection it opened. The name is this test process's
    own (each pytest-xdist worker builds one), so no two processes share it."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"haul_tmpl_{worker}_{uuid.uuid4().hex[:8]}"
    with _database(server_url, name) as url:
        upgrade(url)
        yield name
