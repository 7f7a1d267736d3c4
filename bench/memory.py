"""Server memory with 10,000 finished downloads in history and 50 active ones.

A real ``haul serve`` on SQLite with HAUL_LIMIT_GLOBAL=50 and HAUL_WORKER_CONCURRENCY=50.

1. reference: the RSS of the same server idle with an empty database (after one list call);
2. one tiny file is downloaded through the API; the finished row it leaves (with its events)
   is copied straight into the SQLite file until 10,000 downloads are completed (rows are
   inserted directly, not downloaded: same column values, each with its own URL, file name
   and events, in seconds instead of minutes);
3. 50 downloads are submitted from an origin path throttled to ``--rate`` bytes/s each, so
   they stay active (transferring, with live progress) for the rest of the run;
4. the whole list is read through the API ``--passes`` times (pages of 1,000 following
   ``next_cursor``), plus the default first page and the ``completed`` filter;
5. the server's VmRSS (and VmHWM, its peak) is read from /proc/<pid>/status.

Target (DESIGN.md section 9): RSS under 150 MB, read as 150,000,000 bytes (143.05 MiB), the
stricter of the two readings. The idle figure is printed beside it as the reference, and the
RSS of the server's child processes (the probe child, while files are being finished) beside
the server's.

    ./run bench memory [--history 10000] [--active 50] [--passes 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from bench.common import (
    Verdicts,
    children_rss_kib,
    clone_downloads,
    header,
    rss_kib,
    sqlite_scalar,
)
from tests.support.origin import Origin
from tests.support.server import HaulServer

from haul.core.sources import parse_source

TARGET_MIB = 150e6 / (1 << 20)  # 150 MB = 143.05 MiB


def mib(kib: int) -> float:
    return kib / 1024


def wait_status(client: httpx.Client, download_id: int, wanted: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/api/v1/downloads/{download_id}").json()["status"]
        if status == wanted:
            return
        if status in ("failed", "canceled"):
            raise SystemExit(f"download {download_id} ended {status}")
        time.sleep(0.05)
    raise SystemExit(f"download {download_id} not {wanted} after {timeout} s")


def list_all(client: httpx.Client) -> int:
    """Read every download through the API, 1,000 a page; returns how many."""
    seen, cursor = 0, None
    while True:
        params: dict[str, Any] = {"limit": 1000}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/downloads", params=params)
        page.raise_for_status()
        body = page.json()
        seen += len(body["items"])
        cursor = body["next_cursor"]
        if not cursor:
            return seen


def measure(
    client: httpx.Client,
    origin: Origin,
    pid: int,
    path: str,
    ids: list[int],
    rate: int,
    passes: int,
) -> dict[str, int]:
    """RSS with the active downloads moving at ``rate`` bytes/s each, before and after
    ``passes`` reads of the whole list."""
    transferring = [
        r
        for r in origin.requests_for(path)
        if r.method == "GET" and r.finished is None and r.bytes_sent > 0
    ]
    before = rss_kib(pid)
    started = time.monotonic()
    for _ in range(passes):
        seen = list_all(client)
        client.get("/api/v1/downloads").raise_for_status()
        client.get(
            "/api/v1/downloads", params={"status": "completed", "limit": 1000}
        ).raise_for_status()
    print(
        f"{rate:>9,} B/s each: {len(transferring)} transfers receiving; listed {passes} x "
        f"{seen:,} downloads (pages of 1,000) in {time.monotonic() - started:.1f} s"
    )
    time.sleep(1.0)
    active = sum(
        1 for i in ids if client.get(f"/api/v1/downloads/{i}").json()["status"] == "downloading"
    )
    return {
        "rate": rate,
        "before": before,
        "after": rss_kib(pid),
        "peak": rss_kib(pid, "VmHWM"),
        "children": sum(children_rss_kib(pid).values()),
        "active": active,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, default=10_000)
    parser.add_argument("--active", type=int, default=50)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument(
        "--rates",
        default="20000,2000000",
        help="bytes/s of each active download, one measurement per rate, comma-separated",
    )
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    header(f"memory ({args.history:,} finished, {args.active} active, SQLite)")
    verdicts = Verdicts()
    with tempfile.TemporaryDirectory(prefix="haul-bench-") as tmp, Origin() as origin:
        origin.add_file("/done.bin", b"d" * 4096)
        active_body = b"a" * (256 << 20)  # 256 MiB: none finishes during the run
        for rate in rates:
            origin.add_file(f"/active-{rate}.bin", active_body)
            origin.throttle(f"/active-{rate}.bin", rate)
        data = Path(tmp) / "data"
        limit = str(args.active)
        server = HaulServer(
            data, env={"HAUL_LIMIT_GLOBAL": limit, "HAUL_WORKER_CONCURRENCY": limit}
        ).start()
        assert server.proc is not None
        pid = server.proc.pid
        try:
            with httpx.Client(base_url=server.url, timeout=120) as client:
                client.get("/api/v1/downloads").raise_for_status()
                time.sleep(1.0)
                idle = rss_kib(pid)

                # 10,000 finished downloads: one real, the rest its copies.
                first = client.post("/api/v1/downloads", json={"url": origin.url("/done.bin")})
                template = int(first.json()["id"])
                wait_status(client, template, "completed", 60)
                db_path = data / "haul.db"
                files = json.loads(
                    sqlite_scalar(db_path, "SELECT files FROM downloads WHERE id = ?", template)
                )

                def row(n: int) -> dict[str, Any]:
                    source = parse_source(origin.url(f"/done.bin?copy={n}"))
                    name = f"done-{n:05d}.bin"
                    entry = {**files[0], "path": name, "name": name}
                    return {
                        "source_url": source.url,
                        "dedupe_key": source.dedupe_key,
                        "client_ref": f"copy-{n}",  # (client, client_ref) is unique
                        "files": json.dumps([entry]),
                    }

                seconds = clone_downloads(db_path, template, args.history - 1, row)
                done = sqlite_scalar(
                    db_path, "SELECT count(*) FROM downloads WHERE phase = 'completed'"
                )
                events = sqlite_scalar(db_path, "SELECT count(*) FROM download_events")
                print(
                    f"history: {done:,} completed downloads ({args.history - 1:,} inserted "
                    f"directly in {seconds:.1f} s), {events:,} events"
                )

                # 50 active downloads, one set per rate: each set is throttled from its
                # first byte (changing a running throttle would first send the backlog).
                figures = []
                for rate in rates:
                    path = f"/active-{rate}.bin"
                    ids = []
                    for n in range(args.active):
                        response = client.post(
                            "/api/v1/downloads", json={"url": origin.url(f"{path}?n={n}")}
                        )
                        response.raise_for_status()
                        ids.append(int(response.json()["id"]))
                    for download_id in ids:
                        wait_status(client, download_id, "downloading", 60)
                    time.sleep(3.0)  # several progress intervals at this rate
                    figures.append(measure(client, origin, pid, path, ids, rate, args.passes))
                    client.post(
                        "/api/v1/downloads/cancel", json={"ids": ids, "delete_files": True}
                    ).raise_for_status()
        finally:
            server.stop()
    print(f"reference: idle, empty database: RSS {mib(idle):6.1f} MiB")
    for f in figures:
        print(
            f"{f['rate']:>9,} B/s each: RSS {mib(f['before']):6.1f} MiB before listing, "
            f"{mib(f['after']):6.1f} MiB after (peak so far {mib(f['peak']):6.1f} MiB); "
            f"ratio to idle {f['after'] / idle:.2f}; {f['active']} of {args.active} active"
        )
        print(
            f"{'':>9}  child processes (the probe child, which leaves when idle): "
            f"{mib(f['children']):6.1f} MiB; server and children "
            f"{mib(f['after'] + f['children']):6.1f} MiB"
        )
    worst = max(f["after"] for f in figures)
    verdicts.check(
        f"all {args.active} downloads active while measured",
        all(f["active"] == args.active for f in figures),
    )
    verdicts.check(
        f"RSS {mib(worst):.1f} MiB ({worst * 1024 / 1e6:.1f} MB) < {TARGET_MIB:.2f} MiB (150 MB)",
        mib(worst) < TARGET_MIB,
    )
    return verdicts.exit_code()


if __name__ == "__main__":
    sys.exit(main())
