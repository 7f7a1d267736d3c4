"""The global and the per-owner speed limits across two `haul worker` processes on one real
PostgreSQL: each worker takes its share of a limit (its running transfers over everyone's, of
that owner's for an owner's limit, learned at its heartbeat), so that together they keep to
it."""

from __future__ import annotations

import os
import time

import pytest

from tests.e2e.test_many_workers import Cluster, cluster  # noqa: F401 (the fixture)
from tests.support.origin import Origin
from tests.support.wait import wait_for

LIMIT = 2_000_000


def downloaded(nodes: Cluster, ids: list[int]) -> tuple[float, int]:
    asked = time.monotonic()
    return asked, sum(nodes.item(i)["downloaded_bytes"] or 0 for i in ids)


@pytest.mark.parametrize("setting", ["HAUL_SPEED_LIMIT_GLOBAL", "HAUL_SPEED_LIMIT_PER_OWNER"])
def test_two_workers_keep_a_limit_together(cluster: Cluster, setting: str) -> None:  # noqa: F811
    with Origin() as origin:
        urls = []
        for n in range(4):
            origin.add_file(f"/f{n}.bin", os.urandom(12_000_000))
            urls.append(origin.url(f"/f{n}.bin"))
        limits = {setting: str(LIMIT), "HAUL_WORKER_CONCURRENCY": "2"}
        cluster.add_worker(**limits)
        cluster.add_worker(**limits)
        made = cluster.api.api("POST", "/downloads", json={"urls": urls})
        assert made.status_code == 201, made.text
        ids = [int(item["id"]) for item in made.json()["items"]]

        def spread() -> bool:
            leases = cluster.leases()
            moving = all((cluster.item(i)["downloaded_bytes"] or 0) > 0 for i in ids)
            return moving and len(leases) == 4 and len(set(leases.values())) == 2

        wait_for(spread, 60, what="four transfers moving on two workers")
        time.sleep(1.5)  # a few heartbeats: each worker has learned its share
        began, first = downloaded(cluster, ids)
        time.sleep(6)
        ended, last = downloaded(cluster, ids)
        assert all(cluster.item(i)["status"] == "downloading" for i in ids)
        cluster.api.api("POST", "/downloads/cancel", json={"ids": ids, "delete_files": True})
    rate = (last - first) / (ended - began)
    assert 0.8 * LIMIT < rate <= 1.1 * LIMIT, f"together {rate / 1e6:.2f} MB/s, limit 2 MB/s"
