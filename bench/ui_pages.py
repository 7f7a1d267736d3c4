"""The web UI's pages with 10,000 downloads in history, against the API call behind them.

A real ``haul serve`` on SQLite. One tiny file is downloaded through the API; its finished row
(with its events) is copied straight into the SQLite file until ``--history`` downloads are
completed, and ``--active`` more are kept transferring from a throttled origin path. Then
each page is fetched ``--rounds`` times and its median time compared with the reference:
the API's list of the same 50 downloads (``GET /api/v1/downloads?limit=50``), measured in the
same run. A page draws what that call returns plus its own totals, so it may cost more, but
not much more.

Target (issue 6, "pages stay fast with 10,000 downloads"): every page within 3x the reference
plus 20 ms, whatever the history's size.

    ./run bench ui_pages [--history 10000] [--active 10] [--rounds 30]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from bench.common import Verdicts, clone_downloads, header, sqlite_scalar
from tests.support.origin import Origin
from tests.support.server import HaulServer

from haul.core.sources import parse_source

RATIO = 3.0
SLACK_MS = 20.0


def median_ms(client: httpx.Client, path: str, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = client.get(path, headers={"Accept": "text/html"})
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return statistics.median(times)


def wait_status(client: httpx.Client, download_id: int, wanted: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if client.get(f"/api/v1/downloads/{download_id}").json()["status"] == wanted:
            return
        time.sleep(0.05)
    raise SystemExit(f"download {download_id} not {wanted} after 60 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, default=10_000)
    parser.add_argument("--active", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    header(f"ui_pages ({args.history:,} finished, {args.active} active, SQLite)")
    verdicts = Verdicts()
    with tempfile.TemporaryDirectory(prefix="haul-bench-") as tmp, Origin() as origin:
        origin.add_file("/done.bin", b"d" * 4096)
        origin.add_file("/active.bin", b"a" * (64 << 20))
        origin.throttle("/active.bin", 50_000)
        data = Path(tmp) / "data"
        server = HaulServer(data).start()
        try:
            with httpx.Client(base_url=server.url, timeout=120) as client:
                first = client.post("/api/v1/downloads", json={"url": origin.url("/done.bin")})
                template = int(first.json()["id"])
                wait_status(client, template, "completed")
                db_path = data / "haul.db"
                files = json.loads(
                    sqlite_scalar(db_path, "SELECT files FROM downloads WHERE id = ?", template)
                )

                def row(n: int) -> dict[str, Any]:
                    source = parse_source(origin.url(f"/done.bin?copy={n}"))
                    name = f"episode-{n:05d}.bin"
                    entry = {**files[0], "path": name, "name": name}
                    return {
                        "source_url": source.url,
                        "dedupe_key": source.dedupe_key,
                        "title": f"Episode {n:05d}",
                        "client_ref": f"copy-{n}",
                        "files": json.dumps([entry]),
                    }

                seconds = clone_downloads(db_path, template, args.history - 1, row)
                print(f"history: {args.history:,} completed ({seconds:.1f} s to insert)")
                active = []
                for n in range(args.active):
                    response = client.post(
                        "/api/v1/downloads", json={"url": origin.url(f"/active.bin?n={n}")}
                    )
                    active.append(int(response.json()["id"]))
                for download_id in active:
                    wait_status(client, download_id, "downloading")

                reference = median_ms(client, "/api/v1/downloads?limit=50", args.rounds)
                print(f"reference: GET /api/v1/downloads?limit=50  {reference:7.1f} ms (median)")
                pages = {
                    "downloads list": "/",
                    "search (one match)": "/?q=Episode+04242",
                    "status filter": "/?status=completed",
                    "a page deep in history": "/?cursor=5000",
                    "download detail": f"/downloads/{template + 1}",
                    "add form": "/add",
                    "totals (polled)": "/ui/summary",
                    "rows (polled)": "/ui/rows?ids=" + ",".join(map(str, active)),
                }
                bound = reference * RATIO + SLACK_MS
                for name, path in pages.items():
                    took = median_ms(client, path, args.rounds)
                    ratio = took / reference
                    verdicts.check(
                        f"{name:<24} {path[:40]:<40} {took:7.1f} ms  {ratio:4.2f}x",
                        took <= bound,
                    )
                print(f"target: each page within {RATIO}x the reference + {SLACK_MS:.0f} ms")
        finally:
            server.stop()
    return verdicts.exit_code()


if __name__ == "__main__":
    raise SystemExit(main())
