"""Submit rate on SQLite: at 1,000 queued and at 100,000 queued.

A real ``haul serve`` on SQLite with HAUL_LIMIT_GLOBAL=1 and HAUL_OVER_LIMIT=queue. Every URL
points at one origin path throttled to 1 byte/s (unique by its query string, since duplicates
are refused), so the one admitted download never finishes and everything else stays queued.

1. the rate over the first 1,000 submits (queue 0 -> 1,000);
2. the queue is filled to 100,000 by inserting rows straight into the server's SQLite file:
   copies of the newest row the API stored, each with its own ``created`` event, new URL,
   dedupe key and queue rank (the same column values a submit writes), because submitting
   99,000 through the API would take minutes;
3. the rate over another 1,000 submits at 100,000 queued.

Submits come from ``--concurrency`` concurrent keep-alive connections of a minimal HTTP/1.1
client (:class:`bench.common.RawHttp`), because httpx's own CPU cost per request would be
measured along with the server's on this two-core machine; the same batch is then repeated
through ``--concurrency`` threads of ``httpx.Client`` and printed as a cross-check. Reference
printed beside: ``GET /healthz`` through the same minimal client (the HTTP stack's ceiling).
Targets (DESIGN.md section 9): at least 500 submits per second, and the rate at 100,000 no
more than 1.5x slower than at 1,000.

    ./run bench submit_rate [--concurrency 16] [--batch 1000] [--fill 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from bench.common import (
    RawHttp,
    Verdicts,
    clone_downloads,
    header,
    rss_kib,
    sqlite_now,
    sqlite_scalar,
)
from tests.support.origin import Origin
from tests.support.server import HaulServer

from haul.core.sources import parse_source

TARGET_RATE = 500.0
TARGET_FLATNESS = 1.5


def cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def report(
    label: str, seconds: float, latencies: list[float], statuses: list[int], cpu: float
) -> float:
    wrong = [s for s in statuses if s != 201]
    if wrong:
        raise SystemExit(f"{label}: {len(wrong)} submits were not 201: {sorted(set(wrong))}")
    latencies = sorted(latencies)
    rate = len(statuses) / seconds
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    print(
        f"{label}: {len(statuses)} in {seconds:5.2f} s = {rate:5.0f}/s"
        f"  (p50 {p50:5.1f} ms, p99 {p99:6.1f} ms; client CPU {cpu:.2f} s)"
    )
    return rate


def raw_submits(server: HaulServer, urls: list[str], concurrency: int, label: str) -> float:
    client = RawHttp("127.0.0.1", server.port)
    requests = [client.request("POST", "/api/v1/downloads", {"url": u}) for u in urls]
    cpu = cpu_seconds()
    seconds, latencies, statuses = asyncio.run(client.run(requests, concurrency))
    return report(label, seconds, latencies, statuses, cpu_seconds() - cpu)


def httpx_submits(server: HaulServer, urls: list[str], concurrency: int, label: str) -> float:
    local = threading.local()
    latencies: list[float] = []
    statuses: list[int] = []
    clients: list[httpx.Client] = []

    def submit(url: str) -> None:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(base_url=server.url, timeout=60)
            clients.append(client)
        sent = time.monotonic()
        response = client.post("/api/v1/downloads", json={"url": url})
        latencies.append(time.monotonic() - sent)
        statuses.append(response.status_code)

    cpu = cpu_seconds()
    started = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(submit, urls))
    seconds = time.monotonic() - started
    for client in clients:
        client.close()
    return report(label, seconds, latencies, statuses, cpu_seconds() - cpu)


def healthz_rate(server: HaulServer, count: int, concurrency: int) -> float:
    client = RawHttp("127.0.0.1", server.port)
    requests = [client.request("GET", "/healthz")] * count
    seconds, _, statuses = asyncio.run(client.run(requests, concurrency))
    assert set(statuses) == {200}, statuses
    return count / seconds


def fill(db_path: Path, origin: Origin, upto: int) -> tuple[int, float]:
    """Fill the queue to ``upto`` queued downloads with copies of the newest queued row."""
    queued = sqlite_scalar(db_path, "SELECT count(*) FROM downloads WHERE phase = 'queued'")
    template = sqlite_scalar(
        db_path, "SELECT max(id) FROM downloads WHERE phase = 'queued' AND owner_key = 'local'"
    )
    rank = sqlite_scalar(
        db_path,
        "SELECT max(queue_rank) FROM downloads WHERE phase = 'queued' AND owner_key = ?",
        "local",
    )
    now = sqlite_now()

    def row(n: int) -> dict[str, object]:
        source = parse_source(origin.url(f"/slow?fill={n}"))
        return {
            "source_url": source.url,
            "dedupe_key": source.dedupe_key,
            "queue_rank": rank + 1 + n,
            "created_at": now,
        }

    count = upto - queued
    return count, clone_downloads(db_path, template, count, row)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--fill", type=int, default=100_000)
    args = parser.parse_args()
    header(f"submit_rate (SQLite, {args.concurrency} concurrent connections)")
    verdicts = Verdicts()
    c = args.concurrency
    with tempfile.TemporaryDirectory(prefix="haul-bench-") as tmp, Origin() as origin:
        origin.add_file("/slow", b"x" * 1_000_000)
        origin.throttle("/slow", 1)  # the one admitted download never finishes
        data = Path(tmp) / "data"
        server = HaulServer(
            data, env={"HAUL_LIMIT_GLOBAL": "1", "HAUL_OVER_LIMIT": "queue"}
        ).start()
        try:
            db_path = data / "haul.db"
            reference = healthz_rate(server, 3000, c)
            print(f"reference: GET /healthz, same client and concurrency: {reference:5.0f}/s")

            urls = [origin.url(f"/slow?first={n}") for n in range(args.batch)]
            rate_small = raw_submits(server, urls, c, f"submits at {0:>7,} queued")
            urls = [origin.url(f"/slow?first-httpx={n}") for n in range(args.batch)]
            httpx_small = httpx_submits(server, urls, c, f"  (httpx) at {args.batch:>5,} queued")

            count, seconds = fill(db_path, origin, args.fill)
            queued = sqlite_scalar(db_path, "SELECT count(*) FROM downloads WHERE phase='queued'")
            print(
                f"filled: {count:,} rows inserted directly in {seconds:.1f} s; "
                f"{queued:,} queued now"
            )

            urls = [origin.url(f"/slow?later={n}") for n in range(args.batch)]
            rate_big = raw_submits(server, urls, c, f"submits at {queued:>7,} queued")
            urls = [origin.url(f"/slow?later-httpx={n}") for n in range(args.batch)]
            httpx_big = httpx_submits(
                server, urls, c, f"  (httpx) at {queued + args.batch:,} queued"
            )
            assert server.proc is not None
            print(f"server RSS at the end: {rss_kib(server.proc.pid) / 1024:.0f} MiB")
            running = [
                r for r in origin.requests_for("/slow") if r.method == "GET" and r.finished is None
            ]
            print(f"transfers running at the end: {len(running)} (expected 1)")
        finally:
            server.stop()
    slowdown = rate_small / rate_big
    print(
        f"ratio rate@1k / rate@100k: {slowdown:.2f}  (target <= {TARGET_FLATNESS}); "
        f"httpx cross-check {httpx_small / httpx_big:.2f}"
    )
    print(f"ratio rate@1k / healthz rate: {rate_small / reference:.2f}")
    verdicts.check(
        f"rate at 1,000 queued {rate_small:.0f}/s >= {TARGET_RATE:.0f}/s", rate_small >= TARGET_RATE
    )
    verdicts.check(
        f"rate at 100,000 queued {rate_big:.0f}/s >= {TARGET_RATE:.0f}/s", rate_big >= TARGET_RATE
    )
    verdicts.check(
        f"slowdown 1k -> 100k {slowdown:.2f}x <= {TARGET_FLATNESS}x", slowdown <= TARGET_FLATNESS
    )
    return verdicts.exit_code()


if __name__ == "__main__":
    sys.exit(main())
