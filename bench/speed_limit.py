"""A global speed limit shared by four transfers: the aggregate rate held over 20 s.

A real ``haul serve`` (SQLite) with ``HAUL_SPEED_LIMIT_GLOBAL`` (4 MB/s: 4,000,000 bytes per
second) downloads four large files from the test origin at once, unthrottled at the origin.
Once all four are moving (a short warm-up), the bytes every download reports through the API
are read at the start and the end of a 20 s window (each read taken at the moment it is
asked, on the monotonic clock); the aggregate is their growth over the time between. Each
transfer's rate is printed too: it shows how the budget is shared. The reference is the
limit itself. Target (issue 20): the aggregate within 10% of the limit.

    ./run bench speed_limit [--limit 4000000] [--seconds 20] [--transfers 4]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Verdicts, fill_file, header
from tests.support.origin import Origin
from tests.support.server import HaulServer

TOLERANCE = 0.10
WARM_UP = 3.0


def downloaded(client: httpx.Client, ids: list[int]) -> tuple[float, dict[int, int]]:
    """Each download's bytes as the API reports them, and when they were asked for."""
    asked = time.monotonic()
    items = client.get("/api/v1/downloads", params={"limit": 100}).json()["items"]
    found = {int(i["id"]): int(i.get("downloaded_bytes") or 0) for i in items}
    return asked, {i: found.get(i, 0) for i in ids}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=4_000_000, help="bytes per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--transfers", type=int, default=4)
    args = parser.parse_args()
    limit, window, count = args.limit, args.seconds, args.transfers
    header(f"speed_limit ({limit / 1e6:g} MB/s global, {count} transfers, {window:g} s)")
    verdicts = Verdicts()
    # Each file outlasts the window at its share of the limit, with room to spare.
    size = int(limit / count * (window + WARM_UP) * 1.5)
    with tempfile.TemporaryDirectory(prefix="haul-bench-") as tmp, Origin() as origin:
        work = Path(tmp)
        urls = []
        for n in range(count):
            source = work / f"file{n}.bin"
            fill_file(source, size, os.urandom(1 << 20), prefix=f"{n}".encode())
            origin.add_file(f"/file{n}.bin", source)
            urls.append(origin.url(f"/file{n}.bin"))
        env = {"HAUL_SPEED_LIMIT_GLOBAL": str(limit), "HAUL_LIMIT_GLOBAL": str(count)}
        server = HaulServer(work / "haul-data", env=env).start()
        client = httpx.Client(base_url=server.url, timeout=60)
        try:
            made = client.post("/api/v1/downloads", json={"urls": urls})
            made.raise_for_status()
            ids = [int(item["id"]) for item in made.json()["items"]]
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                _, now = downloaded(client, ids)
                if all(now.values()):
                    break
                time.sleep(0.1)
            else:
                raise SystemExit("the four transfers did not all start within 30 s")
            time.sleep(WARM_UP)  # past the first pieces of each
            began, first = downloaded(client, ids)
            time.sleep(window)
            ended, last = downloaded(client, ids)
            states = client.get("/api/v1/downloads", params={"limit": 100}).json()["items"]
            if any(s["status"] != "downloading" for s in states):
                raise SystemExit("a transfer ended inside the window: make the files larger")
            client.post("/api/v1/downloads/cancel", json={"ids": ids, "delete_files": True})
        finally:
            client.close()
            server.stop()
    elapsed = ended - began
    total = sum(last[i] - first[i] for i in ids)
    rate = total / elapsed
    for i in ids:
        print(f"download {i}: {(last[i] - first[i]) / elapsed / 1e6:.3f} MB/s")
    print(f"aggregate over {elapsed:.1f} s: {rate / 1e6:.3f} MB/s (limit {limit / 1e6:g} MB/s)")
    off = abs(rate - limit) / limit
    verdicts.check(
        f"aggregate {rate / 1e6:.3f} MB/s within {TOLERANCE:.0%} of {limit / 1e6:g} MB/s "
        f"({off:.1%} off)",
        off <= TOLERANCE,
    )
    return verdicts.exit_code()


if __name__ == "__main__":
    sys.exit(main())
