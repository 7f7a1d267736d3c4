"""Subscriptions checked by two real `haul worker` processes on one PostgreSQL: they race for
every due subscription (one wins: SKIP LOCKED), and the one killed in the middle of a check
hands it over when its lease runs out, and no entry ever becomes a second download."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from tests.e2e.test_many_workers import Cluster, cluster  # noqa: F401 (the fixture)
from tests.support import media
from tests.support.fixtures import MediaFiles
from tests.support.origin import Origin
from tests.support.wait import wait_for

pytestmark = pytest.mark.postgres

CHECKING = {
    "HAUL_SUBSCRIPTION_POLL_INTERVAL": "0.2",
    "HAUL_SUBSCRIPTION_JITTER": "0",
    "HAUL_SUBSCRIPTION_LEASE": "2",
}


def holder(running: Cluster, subscription_id: int) -> int | None:
    """The pid of the worker checking the subscription, if one is."""
    with psycopg.connect(running.db_url) as conn:
        row = conn.execute(
            "SELECT w.pid FROM subscriptions s JOIN workers w ON w.id = s.lease_worker_id "
            "WHERE s.id = %s AND s.lease_until > now()",
            (subscription_id,),
        ).fetchone()
    return int(row[0]) if row else None


def downloads(running: Cluster) -> int:
    with psycopg.connect(running.db_url) as conn:
        row = conn.execute("SELECT count(*) FROM downloads").fetchone()
    return int(row[0]) if row else 0


def test_a_worker_killed_mid_check_never_makes_an_entry_a_second_download(
    cluster: Cluster,  # noqa: F811
    origin: Origin,
    media_files: MediaFiles,
) -> None:
    urls = []
    for n in (1, 2, 3):
        origin.add_file(f"/c/v{n}.mp4", media_files.mp4, content_type="video/mp4")
        urls.append(origin.url(f"/c/v{n}.mp4"))
    origin.add_page("/c", media.page_with_videos(urls))
    origin.throttle("/c", 200)  # reading the page takes seconds: a check is long enough to die in
    workers = [cluster.add_worker(**CHECKING), cluster.add_worker(**CHECKING)]
    made = cluster.api.api(
        "POST", "/subscriptions", json={"url": origin.url("/c"), "backfill": "all"}
    )
    assert made.status_code == 201, made.text
    sub = made.json()["id"]

    pid = wait_for(lambda: holder(cluster, sub), 30, what="a worker to take the subscription")
    wait_for(
        lambda: any(r.path == "/c" and r.finished is None for r in origin.requests),
        30,
        what="the check to be reading the page",
    )
    victim = next(w for w in workers if w.pid == pid)
    victim.kill()
    survivor = next(w for w in workers if w is not victim)

    def shown() -> dict[str, Any]:
        body: dict[str, Any] = cluster.api.api("GET", f"/subscriptions/{sub}").json()
        return body

    wait_for(lambda: shown()["downloads"] == 3, 90, what="the survivor to check it whole")
    assert holder(cluster, sub) is None
    origin.throttle("/c", None)
    before = shown()["last_checked_at"]
    asked = cluster.api.api("POST", f"/subscriptions/{sub}/check")  # no worker here: made due
    assert asked.status_code == 200 and asked.json()["checked"] is False, asked.text
    wait_for(lambda: shown()["last_checked_at"] != before, 30, what="the next check")
    assert survivor.pid != pid
    assert downloads(cluster) == 3
    entries = cluster.api.api("GET", f"/subscriptions/{sub}/entries").json()["items"]
    assert len({e["download_id"] for e in entries}) == 3
