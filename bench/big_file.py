"""One big file: 1 GiB through haul's HTTP engine against ``curl -o``, same origin, same disk.

The file is 1 GiB made of one random 1 MiB block repeated (fast to make, incompressible in
transit), served from disk by the test origin with sendfile. Runs alternate curl, haul, curl,
haul (``--rounds``) and the best of each is compared; every copy is checked (size and sha256)
and deleted, and the disk left to finish writing back (``sync``), before the next run.

haul is a real ``haul serve`` (SQLite); its time runs from the submit (over an HTTP client
opened beforehand) to the ``completed`` event on the SSE stream, so it includes the probe, the
GET, the disk writes, the move out of ``.haul-work/<id>/`` and the state writes. Target
(DESIGN.md section 9): haul / curl <= 1.15.

``--engine`` also times the engine alone in this process (``HttpEngine.download`` into a
folder: no server, no database, no probe) to tell the engine's cost from the server's.

    ./run bench big_file [--size BYTES] [--rounds 3] [--engine]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import CompletionWatcher, Verdicts, header, served_file, sha256_file
from tests.support.origin import Origin
from tests.support.server import HaulServer

TARGET = 1.15


def run_curl(url: str, out: Path) -> float:
    started = time.monotonic()
    subprocess.run(["curl", "-s", "-S", "--fail", "-o", str(out), url], check=True)
    return time.monotonic() - started


def run_haul(server: HaulServer, client: httpx.Client, url: str) -> tuple[float, Path]:
    with CompletionWatcher(server.url) as watcher:
        started = time.monotonic()
        response = client.post("/api/v1/downloads", json={"url": url})
        response.raise_for_status()
        download_id = int(response.json()["id"])
        status, finished = watcher.wait_for([download_id], timeout=600)[download_id]
    if status != "completed":
        raise SystemExit(f"haul download {download_id} ended {status}")
    item = client.get(f"/api/v1/downloads/{download_id}").json()
    return finished - started, server.downloads / item["files"][0]["path"]


def run_engine(url: str, folder: Path) -> tuple[float, Path]:
    """The HTTP engine alone, in this process: no server, no database, no move."""
    from haul.engine.base import EngineJob, StopSignal
    from haul.engine.http import HttpEngine

    async def go() -> tuple[float, Path]:
        engine = HttpEngine()
        try:
            job = EngineJob(download_id=1, url=url, dest_dir=folder)
            started = time.monotonic()
            result = await engine.download(job, lambda _p: None, StopSignal())
            return time.monotonic() - started, result.files[0]
        finally:
            await engine.aclose()

    return asyncio.run(go())


def check(path: Path, size: int, digest: str, who: str) -> None:
    if path.stat().st_size != size or sha256_file(path) != digest:
        raise SystemExit(f"{who}'s copy {path} does not match the source")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1 << 30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--engine", action="store_true", help="also time HttpEngine alone")
    args = parser.parse_args()
    header(f"big_file ({args.size / (1 << 20):.0f} MiB, best of {args.rounds})")
    verdicts = Verdicts()
    with tempfile.TemporaryDirectory(prefix="haul-bench-") as tmp, Origin() as origin:
        work = Path(tmp)
        url, digest = served_file(origin, work, "big.bin", args.size)
        mib = args.size / (1 << 20)
        curl_times: list[float] = []
        haul_times: list[float] = []
        engine_times: list[float] = []
        server = HaulServer(work / "haul-data").start()
        client = httpx.Client(base_url=server.url, timeout=60)  # opened once, like a CLI's
        try:
            for round_ in range(1, args.rounds + 1):
                os.sync()  # nothing of the run before is still being written back
                out = work / "curl.bin"
                curl_times.append(run_curl(url, out))
                check(out, args.size, digest, "curl")
                out.unlink()
                os.sync()
                seconds, path = run_haul(server, client, url)
                haul_times.append(seconds)
                check(path, args.size, digest, "haul")
                path.unlink()
                line = f"round {round_}: curl {curl_times[-1]:.3f} s, haul {seconds:.3f} s"
                if args.engine:
                    folder = work / "engine"
                    seconds, path = run_engine(url, folder)
                    engine_times.append(seconds)
                    check(path, args.size, digest, "engine")
                    path.unlink()
                    line += f", engine alone {seconds:.3f} s"
                print(line)
        finally:
            client.close()
            server.stop()
    curl_s, haul_s = min(curl_times), min(haul_times)
    print(f"curl : {curl_s:.3f} s  ({mib / curl_s:.0f} MiB/s)")
    print(f"haul : {haul_s:.3f} s  ({mib / haul_s:.0f} MiB/s)")
    if engine_times:
        engine_s = min(engine_times)
        print(
            f"engine alone: {engine_s:.3f} s  ({mib / engine_s:.0f} MiB/s), "
            f"ratio engine/curl {engine_s / curl_s:.2f}"
        )
    ratio = haul_s / curl_s
    print(f"ratio haul/curl: {ratio:.2f}  (target <= {TARGET})")
    verdicts.check(f"haul/curl {ratio:.2f} <= {TARGET}", ratio <= TARGET)
    return verdicts.exit_code()


if __name__ == "__main__":
    sys.exit(main())
