"""A server throttled per connection: one 64 MiB file through haul against ``curl -o`` and
``aria2c -x4 -s4``, same origin, same run.

The test origin serves the file at 1 MiB/s per connection (``--rate``), as many file hosts and
IPTV panels do, so one connection takes about 64 s and four about 16 s. haul is a real
``haul serve`` (SQLite, default settings: up to 4 connections for a file of 16 MiB or more);
its time runs from the submit to the ``completed`` event on the SSE stream, after one small
download has warmed the server up (as a server that has been running has: the child process
that probes finished files is started by the first). curl fetches over
one connection; aria2c with ``-x4 -s4 -k1M`` over four. Every copy is checked (size and
sha256) and deleted. Targets (DESIGN.md section 9): haul at least 3.5 times faster than curl,
and no slower than aria2c (``--noise``, 3% by default, allows for run-to-run noise).

    ./run bench segmented [--size BYTES] [--rate BYTES_PER_S] [--rounds 1]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.big_file import check, run_curl, run_haul
from bench.common import Verdicts, header, served_file
from tests.support.origin import Origin
from tests.support.server import HaulServer

FASTER_THAN_CURL = 3.5


def run_aria2c(url: str, folder: Path, name: str) -> float:
    started = time.monotonic()
    subprocess.run(
        [
            "aria2c",
            "-q",
            "-x4",
            "-s4",
            "-k1M",
            "--file-allocation=none",
            "--allow-overwrite=true",
            "--auto-file-renaming=false",
            "-d",
            str(folder),
            "-o",
            name,
            url,
        ],
        check=True,
    )
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64 << 20)
    parser.add_argument("--rate", type=int, default=1 << 20, help="bytes/s per connection")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--noise", type=float, default=0.03)
    args = parser.parse_args()
    mib = args.size / (1 << 20)
    header(f"segmented ({mib:.0f} MiB at {args.rate / (1 << 20):.1f} MiB/s per connection)")
    verdicts = Verdicts()
    curl_times: list[float] = []
    aria2_times: list[float] = []
    haul_times: list[float] = []
    with tempfile.TemporaryDirectory(prefix="haul-bench-") as tmp, Origin() as origin:
        work = Path(tmp)
        url, digest = served_file(origin, work, "film.bin", args.size)
        origin.throttle("/film.bin", args.rate)
        server = HaulServer(work / "haul-data").start()
        client = httpx.Client(base_url=server.url, timeout=60)
        try:
            warm_url, warm_digest = served_file(origin, work, "warm-up.bin", 1 << 20)
            _, path = run_haul(server, client, warm_url)
            check(path, 1 << 20, warm_digest, "haul")
            for round_ in range(1, args.rounds + 1):
                out = work / "curl.bin"
                curl_times.append(run_curl(url, out))
                check(out, args.size, digest, "curl")
                out.unlink()
                aria2_times.append(run_aria2c(url, work, "aria2.bin"))
                check(work / "aria2.bin", args.size, digest, "aria2c")
                (work / "aria2.bin").unlink()
                before = len(origin.requests_for("/film.bin"))
                called = time.monotonic()
                seconds, path = run_haul(server, client, url)
                haul_times.append(seconds)
                check(path, args.size, digest, "haul")
                path.unlink()
                asked = origin.requests_for("/film.bin")[before:]
                print(
                    f"round {round_}: curl {curl_times[-1]:.2f} s, aria2c {aria2_times[-1]:.2f} s,"
                    f" haul {seconds:.2f} s ({len(asked)} requests: "
                    + ", ".join(
                        f"{r.started - called:.2f}-{(r.finished or 0) - called:.2f} s"
                        for r in asked
                    )
                    + ")"
                )
        finally:
            client.close()
            server.stop()
    curl_s, aria2_s, haul_s = min(curl_times), min(aria2_times), min(haul_times)
    for who, seconds in (("curl", curl_s), ("aria2c -x4 -s4", aria2_s), ("haul", haul_s)):
        print(f"{who:15}: {seconds:6.2f} s  ({mib / seconds:.2f} MiB/s)")
    speedup = curl_s / haul_s
    versus = haul_s / aria2_s
    print(f"haul is {speedup:.2f}x faster than curl (target >= {FASTER_THAN_CURL})")
    print(f"haul/aria2c time: {versus:.3f} (target <= 1, {args.noise:.0%} noise allowed)")
    verdicts.check(f"curl/haul {speedup:.2f} >= {FASTER_THAN_CURL}", speedup >= FASTER_THAN_CURL)
    verdicts.check(f"haul/aria2c {versus:.3f} <= 1", versus <= 1 + args.noise)
    return verdicts.exit_code()


if __name__ == "__main__":
    sys.exit(main())
