"""Faults at the moment a download finishes, on a real `haul serve` (SQLite and PostgreSQL).

The finished file lands in the download root a moment before the download is recorded as
finished. A process killed in that moment, or a database that refuses the write then, must
neither fetch the file again nor leave a second copy (`clip (1).bin`), an orphan in the root
or a work folder, nor a lease that no running worker holds. The tests stop the job exactly
there with a hold point (``HAUL_TEST_HOLD``, see ``haul.engine.faults``): the job waits while
a flag file exists and says so by writing ``<flag>.reached``.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.support import disks
from tests.support.origin import Origin
from tests.support.pg import Cluster, throwaway_cluster
from tests.support.server import HaulServer
from tests.support.wait import wait_for

DATA = os.urandom(3 * 1024 * 1024 + 17)


@dataclass
class Held:
    """A `haul serve` whose jobs stop at a hold point while ``flag`` exists."""

    server: HaulServer
    flag: Path
    database_url: str

    @property
    def reached(self) -> Path:
        return self.flag.with_name(self.flag.name + ".reached")

    def restarted(self) -> HaulServer:
        """The same instance started again, without the hold point (after a kill)."""
        dropped = ("HAUL_TEST_HOLD", "HAUL_PORT")
        env = {k: v for k, v in self.server.env.items() if k not in dropped}
        self.server = HaulServer(self.server.data_dir, env=env)  # killed by the test if stuck
        return self.server.start()


def held_server(tmp_path: Path, database_url: str, point: str, **env: str) -> Held:
    flag = tmp_path / "hold"
    flag.touch()
    server = HaulServer(
        tmp_path / "server",
        env={
            "HAUL_DATABASE_URL": database_url,
            "HAUL_TEST_HOLD": f"{point}:{flag}",
            "HAUL_HEARTBEAT_INTERVAL": "0.5",
            "HAUL_LEASE_TTL": "3",
            **env,
        },
    )
    return Held(server.start(), flag, database_url)


def submit(server: HaulServer, url: str) -> int:
    created = server.api("POST", "/downloads", json={"url": url})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def finished(server: HaulServer, download_id: int, timeout: float = 60) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        item: dict[str, Any] = server.api("GET", f"/downloads/{download_id}").json()
        return item if item["status"] in ("completed", "failed", "canceled") else None

    return wait_for(done, timeout, what=f"download {download_id} to end")


def files_under(root: Path) -> list[str]:
    """Every file below ``root`` (work folders included), relative to it."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def rows(database_url: str, query: str) -> list[tuple[Any, ...]]:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        with contextlib.closing(sqlite3.connect(str(url.database))) as conn:
            return list(conn.execute(query).fetchall())
    with psycopg.connect(database_url) as pg:
        return list(pg.execute(query).fetchall())  # type: ignore[arg-type]


def assert_finished_once(held: Held, download_id: int, origin: Origin) -> None:
    """What a user checks after the fault: completed, one file with the right bytes, fetched
    once, recorded once, nothing left over, no lease."""
    server = held.server
    item = finished(server, download_id)
    assert item["status"] == "completed", item
    assert [f["path"] for f in item["files"]] == ["clip.bin"]
    on_disk = server.downloads / "clip.bin"
    assert hashlib.sha256(on_disk.read_bytes()).digest() == hashlib.sha256(DATA).digest()
    assert files_under(server.downloads) == ["clip.bin"]  # no "clip (1).bin", no work folder
    gets = [r for r in origin.requests_for("/clip.bin") if r.method == "GET"]
    assert len(gets) == 1 and origin.bytes_served("/clip.bin") == len(DATA)
    kinds = [e["kind"] for e in server.api("GET", f"/downloads/{download_id}/events").json()]
    assert kinds.count("downloaded") == 1 and kinds.count("completed") == 1, kinds
    leased = "SELECT id FROM downloads WHERE lease_worker_id IS NOT NULL"
    assert rows(held.database_url, leased) == []


@pytest.fixture
def clip(origin: Origin) -> str:
    origin.add_file("/clip.bin", DATA)
    return origin.url("/clip.bin")


@pytest.mark.parametrize("point", ["filed", "recorded"])
def test_a_kill_while_a_finished_file_is_filed_neither_fetches_nor_copies_it_again(
    tmp_path: Path, database_url: str, origin: Origin, clip: str, point: str
) -> None:
    held = held_server(tmp_path, database_url, point)
    try:
        download_id = submit(held.server, clip)
        wait_for(held.reached.exists, 60, what=f"the job to reach {point!r}")
        # The file is in the download root; the download is recorded (or not) as finished.
        assert (held.server.downloads / "clip.bin").is_file()
        held.server.kill()
        held.restarted()
        assert_finished_once(held, download_id, origin)
    finally:
        held.server.kill()


def _fill(path: Path) -> None:
    """Write ``path`` until its filesystem is full."""
    block = b"\0" * 65536
    with path.open("wb") as filler:
        try:
            while True:
                filler.write(block)
                filler.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs of its own (to fill), unmounted afterwards."""
    with disks.small_disk(tmp_path / "small", 16) as mount:
        yield mount


def refused(held: Held, download_id: int) -> bool:
    """Whether the server logged the refused write of the download's completion (the first
    thing it logs of the download once it is let go)."""
    log = held.server.log.read_text(errors="replace")
    return f"[download {download_id}]" in log and "The database failed" in log


def test_a_full_disk_under_sqlite_delays_the_completion_until_it_is_recorded(
    tmp_path: Path, small_disk: Path, origin: Origin, clip: str
) -> None:
    database_url = f"sqlite:///{small_disk / 'haul.db'}"
    held = held_server(tmp_path, database_url, "filed")
    try:
        download_id = submit(held.server, clip)
        wait_for(held.reached.exists, 60, what="the job to reach 'filed'")
        # A reader keeps the write-ahead log from starting over, so every write must grow it
        # (as under a busy instance); then the disk fills up.
        reader = sqlite3.connect(str(small_disk / "haul.db"))
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM downloads").fetchone()
        _fill(small_disk / "filler")
        held.flag.unlink()
        wait_for(lambda: refused(held, download_id), 30, what="the completion to be refused")
        item = held.server.api("GET", f"/downloads/{download_id}").json()
        assert item["status"] != "completed"
        (small_disk / "filler").unlink()
        reader.close()
        assert_finished_once(held, download_id, origin)
    finally:
        held.server.kill()


@pytest.fixture
def restartable_pg() -> Iterator[Cluster]:
    """A PostgreSQL cluster of this test's own (the shared one is never restarted)."""
    with throwaway_cluster() as cluster:
        yield cluster


@pytest.mark.postgres
def test_a_postgresql_restart_delays_the_completion_until_it_is_recorded(
    tmp_path: Path, restartable_pg: Cluster, origin: Origin, clip: str
) -> None:
    held = held_server(tmp_path, restartable_pg.url, "filed")
    try:
        download_id = submit(held.server, clip)
        wait_for(held.reached.exists, 60, what="the job to reach 'filed'")
        restartable_pg.stop()
        held.flag.unlink()
        wait_for(lambda: refused(held, download_id), 30, what="the completion to be refused")
        restartable_pg.start()
        assert_finished_once(held, download_id, origin)
    finally:
        held.server.kill()


@pytest.mark.postgres
def test_a_server_stopped_while_its_database_is_down_records_the_download_at_the_next_start(
    tmp_path: Path, restartable_pg: Cluster, origin: Origin, clip: str
) -> None:
    held = held_server(tmp_path, restartable_pg.url, "filed")
    try:
        download_id = submit(held.server, clip)
        wait_for(held.reached.exists, 60, what="the job to reach 'filed'")
        restartable_pg.stop()
        held.flag.unlink()
        wait_for(lambda: refused(held, download_id), 30, what="the completion to be refused")
        held.server.stop()  # gives up on the write; cannot give its lease back either
        restartable_pg.start()
        held.restarted()
        assert_finished_once(held, download_id, origin)
    finally:
        held.server.kill()
