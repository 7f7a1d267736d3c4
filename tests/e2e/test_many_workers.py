"""Several processes on one real PostgreSQL: an API node and two `haul worker`s.

Covers what an operator of a shared instance relies on: a worker killed mid-transfer loses
nothing (its jobs resume elsewhere from their partial data, never fetched by two workers at
once), limits hold across workers, and the API node shows live progress of transfers that
other processes run.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.support.origin import Origin, RequestRecord
from tests.support.pg import fresh_database
from tests.support.server import HaulServer, HaulWorker
from tests.support.sse import EventListener
from tests.support.wait import wait_for


@dataclass
class Cluster:
    api: HaulServer
    workers: list[HaulWorker]
    db_url: str
    env: dict[str, str]
    tmp: Path

    def add_worker(self, **env: str) -> HaulWorker:
        worker = HaulWorker({**self.env, **env}, self.tmp / f"worker{len(self.workers)}.log")
        self.workers.append(worker.start())
        return worker

    def item(self, download_id: int) -> dict[str, Any]:
        body: dict[str, Any] = self.api.api("GET", f"/downloads/{download_id}").json()
        return body

    def leases(self) -> dict[int, int]:
        """download id -> pid of the worker holding it."""
        with psycopg.connect(self.db_url) as conn:
            rows = conn.execute(
                "SELECT d.id, w.pid FROM downloads d JOIN workers w ON w.id = d.lease_worker_id"
            ).fetchall()
        return {int(i): int(p) for i, p in rows}


@pytest.fixture
def cluster(pg_server: str, tmp_path: Path) -> Iterator[Cluster]:
    with fresh_database(pg_server) as url:
        env = {
            "HAUL_DATABASE_URL": url,
            "HAUL_DATA_DIR": str(tmp_path / "data"),
            "HAUL_DOWNLOAD_DIR": str(tmp_path / "downloads"),
            "HAUL_HEARTBEAT_INTERVAL": "0.5",
            "HAUL_LEASE_TTL": "3",
            "HAUL_PROGRESS_INTERVAL": "0.25",
        }
        api = HaulServer(tmp_path / "api", env={**env, "HAUL_EMBEDDED_WORKER": "false"})
        api.start()
        running = Cluster(api, [], url, env, tmp_path)
        try:
            yield running
        finally:
            for worker in running.workers:
                worker.kill()
            api.kill()


def overlapping(records: list[RequestRecord]) -> list[tuple[RequestRecord, RequestRecord]]:
    """Pairs of GETs of the same path whose transfers overlapped in time."""
    gets = sorted((r for r in records if r.method == "GET"), key=lambda r: r.started)
    pairs = []
    for a, b in itertools.pairwise(gets):
        if a.finished is None or b.started < a.finished:
            pairs.append((a, b))
    return pairs


def test_killed_worker_jobs_resume_on_another_without_double_fetch(
    cluster: Cluster, origin: Origin
) -> None:
    files = {f"/w/{n}.bin": os.urandom(512 * 1024 + n) for n in range(10)}
    for path, data in files.items():
        origin.add_file(path, data)
        origin.throttle(path, 64 * 1024)
    first = cluster.add_worker(HAUL_WORKER_CONCURRENCY="10")
    ids = [
        cluster.api.api("POST", "/downloads", json={"url": origin.url(p)}).json()["id"]
        for p in files
    ]
    wait_for(lambda: len(cluster.leases()) == 10, 30, what="the first worker to take all 10")
    # The API node runs no transfer itself, yet shows their live progress (LISTEN/NOTIFY).
    wait_for(
        lambda: all(
            (cluster.item(i)["downloaded_bytes"] or 0) > 50_000
            and cluster.item(i)["status"] == "downloading"
            for i in ids
        ),
        30,
        what="live progress of all 10 through the API node",
    )
    second = cluster.add_worker(HAUL_WORKER_CONCURRENCY="10")
    first.kill()
    killed_at = time.monotonic()
    for path in files:
        origin.throttle(path, None)
    wait_for(lambda: set(cluster.leases().values()) == {second.pid}, 30, what="takeover")
    takeover = time.monotonic() - killed_at
    wait_for(
        lambda: all(cluster.item(i)["status"] == "completed" for i in ids), 60, what="all done"
    )
    refetched = 0
    for download_id, (path, data) in zip(ids, files.items(), strict=True):
        got = cluster.item(download_id)
        on_disk = Path(cluster.env["HAUL_DOWNLOAD_DIR"]) / got["files"][0]["path"]
        assert hashlib.sha256(on_disk.read_bytes()).digest() == hashlib.sha256(data).digest()
        assert overlapping(origin.requests_for(path)) == []
        refetched += origin.bytes_served(path) - len(data)
    print(f"takeover after SIGKILL: {takeover:.2f} s; bytes fetched twice: {refetched}")
    assert takeover < 5.0


def test_global_limit_holds_across_two_workers(cluster: Cluster, origin: Origin) -> None:
    for n in range(100):
        origin.add_file(f"/l/{n}", os.urandom(40_000))
        origin.throttle(f"/l/{n}", 200_000)
    for _ in range(2):
        cluster.add_worker(HAUL_LIMIT_GLOBAL="3", HAUL_WORKER_CONCURRENCY="10")

    def submit(n: int) -> int:
        response = httpx.post(
            f"{cluster.api.url}/api/v1/downloads", json={"url": origin.url(f"/l/{n}")}, timeout=30
        )
        return response.status_code

    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            busy = sum(1 for r in origin.requests if r.method == "GET" and r.finished is None)
            peak = max(peak, busy)
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with ThreadPoolExecutor(20) as pool:
            assert sorted(set(pool.map(submit, range(100)))) == [201]
        wait_for(
            lambda: len(completed(cluster)) == 100,
            90,
            what="all 100 to complete",
        )
    finally:
        stop.set()
        sampler.join()
    print(f"largest number of concurrent transfers observed: {peak}")
    assert 1 <= peak <= 3


def completed(cluster: Cluster) -> list[dict[str, Any]]:
    params = {"status": "completed", "limit": 1000}
    items: list[dict[str, Any]] = cluster.api.api("GET", "/downloads", params=params).json()[
        "items"
    ]
    return items


def test_events_from_workers_reach_the_api_nodes_stream(cluster: Cluster, origin: Origin) -> None:
    origin.add_file("/e.bin", os.urandom(600_000))
    origin.throttle("/e.bin", 200_000)
    cluster.add_worker()
    events = EventListener(cluster.api.url).start()
    created = cluster.api.api("POST", "/downloads", json={"url": origin.url("/e.bin")}).json()
    assert events.completed.wait(30), events.seen[-3:]
    progress = events.progress(created["id"])
    assert len(progress) >= 3
    assert progress[-1]["downloaded_bytes"] > progress[0]["downloaded_bytes"]


def test_sigterm_releases_a_workers_jobs_at_once(cluster: Cluster, origin: Origin) -> None:
    for n in range(3):
        origin.add_file(f"/t/{n}", os.urandom(400_000))
        origin.throttle(f"/t/{n}", 50_000)
    first = cluster.add_worker(HAUL_LEASE_TTL="600")
    ids = [
        cluster.api.api("POST", "/downloads", json={"url": origin.url(f"/t/{n}")}).json()["id"]
        for n in range(3)
    ]
    wait_for(lambda: len(cluster.leases()) == 3, 30, what="the first worker to take all 3")
    wait_for(lambda: all((cluster.item(i)["downloaded_bytes"] or 0) > 0 for i in ids), 30)
    started = time.monotonic()
    assert first.stop() == 0
    assert time.monotonic() - started < 10
    assert cluster.leases() == {}  # released on the way out, not left to expire
    second = cluster.add_worker(HAUL_LEASE_TTL="600")
    for n in range(3):
        origin.throttle(f"/t/{n}", None)
    wait_for(lambda: all(cluster.item(i)["status"] == "completed" for i in ids), 30)
    assert set(cluster.leases().values()) <= {second.pid}
    for n in range(3):
        assert overlapping(origin.requests_for(f"/t/{n}")) == []


def test_a_site_rule_of_one_holds_across_two_workers(cluster: Cluster, origin: Origin) -> None:
    rule = [{"domain": "127.0.0.1", "max_transfers": 1}]
    changed = cluster.api.api("PATCH", "/config", json={"site_rules": rule})
    assert changed.status_code == 200, changed.text
    for n in range(8):
        origin.add_file(f"/s/{n}", os.urandom(60_000))
        origin.throttle(f"/s/{n}", 200_000)  # 0.3 s each
    for _ in range(2):
        cluster.add_worker(HAUL_WORKER_CONCURRENCY="10")
    ids = [
        cluster.api.api("POST", "/downloads", json={"url": origin.url(f"/s/{n}")}).json()["id"]
        for n in range(8)
    ]
    wait_for(
        lambda: all(cluster.item(i)["status"] == "completed" for i in ids), 60, what="all done"
    )
    gets = [r for r in origin.requests if r.method == "GET"]
    assert len(gets) == 8
    assert overlapping(gets) == []  # one transfer at a time from the site, whichever worker
    with psycopg.connect(cluster.db_url) as conn:
        sites = conn.execute("SELECT DISTINCT site FROM downloads").fetchall()
    assert sites == [("127.0.0.1",)]
