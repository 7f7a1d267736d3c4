"""The live list with three real clients of 300 items each, plus 1,000 finished downloads.

A real ``haul serve`` (SQLite) with a real aria2c, qbittorrent-nox and transmission-daemon on
loopback, each configured through the API:

1. one tiny file is downloaded by the built-in engine and its finished row is copied straight
   into the SQLite file until 1,000 finished downloads exist (see bench/common.py);
2. 300 magnet links (fresh info-hashes, no peers: they stay fetching metadata) are submitted
   for qBittorrent and 300 for Transmission, and 300 direct URLs for aria2 (from an origin
   throttled to a trickle), which are then paused through the API; the run waits until all
   900 are handed over (each has its client's id);
3. reference: each client's own bulk call, made here with plain HTTP, ``--rounds`` times:
   qBittorrent ``torrents/info?category=haul``, Transmission ``torrent-get`` of the fields
   haul reads, aria2 ``system.multicall`` of tellActive/tellWaiting/tellStopped;
4. haul: ``GET /api/v1/downloads?limit=1000`` (the 900 live items and 100 finished ones),
   ``--rounds`` times, interleaved with the references so both see the same machine.

Target (issue 4): median list latency at most 2x the slowest client's median bulk call plus
25 ms. The list must also show all 900 with their clients' live status (none unknown).

    ./run bench list_clients [--per-client 300] [--history 1000] [--rounds 30]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from bench.common import Verdicts, clone_downloads, cpu_seconds, header, sqlite_scalar
from tests.support.aria2 import Aria2Daemon, aria2_daemon
from tests.support.origin import Origin
from tests.support.qbittorrent import QbitDaemon, qbittorrent_daemon
from tests.support.server import HaulServer
from tests.support.transmission import TransmissionDaemon, transmission_daemon

from haul.core.sources import parse_source

TRANSMISSION_FIELDS = [
    "hashString",
    "name",
    "status",
    "error",
    "errorString",
    "percentDone",
    "sizeWhenDone",
    "leftUntilDone",
    "haveValid",
    "rateDownload",
    "eta",
    "downloadDir",
    "labels",
    "isFinished",
]
ARIA2_KEYS = ["gid", "status", "totalLength", "completedLength", "downloadSpeed", "dir", "files"]


def magnet(seed: str) -> str:
    digest = hashlib.sha1(seed.encode(), usedforsecurity=False).hexdigest()
    return f"magnet:?xt=urn:btih:{digest}&dn={seed}"


class References:
    """Each client's own bulk call over plain HTTP (what haul's one call per client costs the
    client itself)."""

    def __init__(self, qbit: QbitDaemon, trans: TransmissionDaemon, aria2: Aria2Daemon) -> None:
        self.qbit_http = httpx.Client(base_url=qbit.url, timeout=30)
        login = self.qbit_http.post(
            "/api/v2/auth/login", data={"username": qbit.username, "password": qbit.password}
        )
        login.raise_for_status()
        self.trans = trans
        self.trans_http = httpx.Client(auth=(trans.username, trans.password), timeout=30)
        self.trans_session = ""
        self.aria2 = aria2
        self.aria2_http = httpx.Client(timeout=30)

    def qbittorrent(self) -> int:
        answer = self.qbit_http.get("/api/v2/torrents/info", params={"category": "haul"})
        answer.raise_for_status()
        return len(answer.json())

    def transmission(self) -> int:
        body = {"method": "torrent-get", "arguments": {"fields": TRANSMISSION_FIELDS}}
        for _ in range(2):
            answer = self.trans_http.post(
                self.trans.url, json=body, headers={"X-Transmission-Session-Id": self.trans_session}
            )
            if answer.status_code == 409:
                self.trans_session = answer.headers["X-Transmission-Session-Id"]
                continue
            answer.raise_for_status()
            return len(answer.json()["arguments"]["torrents"])
        raise RuntimeError("Transmission kept asking for a session id")

    def aria2_call(self) -> int:
        token = f"token:{self.aria2.secret}"
        calls = [
            {"methodName": "aria2.tellActive", "params": [token, ARIA2_KEYS]},
            {"methodName": "aria2.tellWaiting", "params": [token, 0, 1000, ARIA2_KEYS]},
            {"methodName": "aria2.tellStopped", "params": [token, 0, 1000, ARIA2_KEYS]},
        ]
        body = {"jsonrpc": "2.0", "id": "b", "method": "system.multicall", "params": [calls]}
        answer = self.aria2_http.post(self.aria2.url, json=body)
        answer.raise_for_status()
        return sum(len(part[0]) for part in answer.json()["result"])

    def close(self) -> None:
        for client in (self.qbit_http, self.trans_http, self.aria2_http):
            client.close()


def timed(call: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def wait_handed_over(api: httpx.Client, expected: int, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        page = api.get("/api/v1/downloads", params={"limit": 1000}).json()
        held = [i for i in page["items"] if i["client"] != "builtin" and i["client_ref"]]
        if len(held) >= expected:
            return page
        if time.monotonic() > deadline:
            counts = Counter(i["status"] for i in page["items"])
            raise TimeoutError(f"only {len(held)} of {expected} handed over: {dict(counts)}")
        time.sleep(0.5)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-client", type=int, default=300)
    parser.add_argument("--history", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument(
        "--profile", type=Path, help="record the server with py-spy (collapsed stacks) while timed"
    )
    args = parser.parse_args()
    header("list_clients")
    verdicts = Verdicts()
    n = args.per_client
    with tempfile.TemporaryDirectory(prefix="haul-bench-") as tmp, ExitStack() as stack:
        root = Path(tmp)
        origin = stack.enter_context(Origin())
        origin.add_file("/tiny.bin", os.urandom(1000))
        origin.add_file("/trickle.bin", os.urandom(50 << 20))
        origin.throttle("/trickle.bin", 1000)
        aria2 = stack.enter_context(aria2_daemon(root / "aria2"))
        qbit = stack.enter_context(qbittorrent_daemon(root / "qbit"))
        trans = stack.enter_context(transmission_daemon(root / "transmission"))
        server = HaulServer(
            root / "haul",
            env={"HAUL_LIMIT_GLOBAL": str(3 * n + 10), "HAUL_LOG_LEVEL": "warning"},
        ).start()
        stack.callback(server.kill)
        api = stack.enter_context(httpx.Client(base_url=server.url, timeout=120))

        first = api.post("/api/v1/downloads", json={"url": origin.url("/tiny.bin")}).json()
        deadline = time.monotonic() + 30
        while api.get(f"/api/v1/downloads/{first['id']}").json()["status"] != "completed":
            if time.monotonic() > deadline:
                raise TimeoutError("the first download did not finish")
            time.sleep(0.1)
        db = root / "haul" / "haul.db"

        def finished(k: int) -> dict[str, Any]:
            source = parse_source(origin.url(f"/done/{k}.bin"))
            return {
                "source_url": source.url,
                "dedupe_key": source.dedupe_key,
                "client_ref": f"done-{k}",
            }

        took = clone_downloads(db, first["id"], args.history - 1, finished)
        print(f"   {args.history} finished downloads in the database ({took:.1f} s to copy)")

        clients = [
            {"name": "qbit", "kind": "qbittorrent", "url": qbit.url, "username": qbit.username,
             "secret": qbit.password},
            {"name": "trans", "kind": "transmission", "url": trans.url,
             "username": trans.username, "secret": trans.password},
            {"name": "aria2", "kind": "aria2", "url": aria2.url, "secret": aria2.secret},
        ]  # fmt: skip
        for spec in clients:
            created = api.post("/api/v1/clients", json=spec)
            assert created.status_code == 201, created.text
        started = time.monotonic()
        for name in ("qbit", "trans"):
            urls = [magnet(f"haul-bench-{name}-{os.getpid()}-{k}") for k in range(n)]
            answer = api.post("/api/v1/downloads", json={"urls": urls, "client": name})
            assert not answer.json()["errors"], answer.text[:500]
        urls = [origin.url(f"/trickle.bin?n={k}") for k in range(n)]
        answer = api.post("/api/v1/downloads", json={"urls": urls, "client": "aria2"}).json()
        assert not answer["errors"], str(answer["errors"])[:500]
        page = wait_handed_over(api, 3 * n, timeout=300)
        print(f"   {3 * n} downloads handed over in {time.monotonic() - started:.1f} s")
        aria2_ids = [i["id"] for i in page["items"] if i["client"] == "aria2"]
        for k in range(0, len(aria2_ids), 500):
            api.post("/api/v1/downloads/pause", json={"ids": aria2_ids[k : k + 500]})
        time.sleep(2)  # let the monitor settle (pauses are sticky)

        refs = References(qbit, trans, aria2)
        stack.callback(refs.close)
        samples: dict[str, list[float]] = {"qbittorrent": [], "transmission": [], "aria2": []}
        haul: list[float] = []
        cpu: list[float] = []  # the server's CPU seconds for each list call
        counts: dict[str, int] = {}
        if args.profile:
            spy = subprocess.Popen(
                [str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(server.proc.pid),
                 "-o", str(args.profile), "-f", "raw", "-r", "500", "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            stack.callback(spy.wait)
            stack.callback(spy.send_signal, signal.SIGINT)
            time.sleep(1)
        last: dict[str, Any] = {}
        for _ in range(args.rounds):
            for label, call in (
                ("qbittorrent", refs.qbittorrent),
                ("transmission", refs.transmission),
                ("aria2", refs.aria2_call),
            ):
                seconds, counts[label] = timed(call)
                samples[label].append(seconds)
            before = cpu_seconds(server.proc.pid)
            seconds, response = timed(lambda: api.get("/api/v1/downloads", params={"limit": 1000}))
            after = cpu_seconds(server.proc.pid)
            haul.append(seconds)
            cpu.append(sum(after[k] - before[k] for k in ("user", "system")))
            last = response.json()

        statuses = Counter(
            (i["client"], i["status"]) for i in last["items"] if i["client"] != "builtin"
        )
        print(f"   list statuses: {dict(sorted(statuses.items()))}")
        print(f"   items per client call: {counts}")
        medians = {label: statistics.median(v) * 1000 for label, v in samples.items()}
        slowest = max(medians, key=lambda k: medians[k])
        haul_ms = statistics.median(haul) * 1000
        limit = 2 * medians[slowest] + 25
        for label, ms in medians.items():
            print(f"   {label:13s} own bulk call: median {ms:7.1f} ms")
        print(f"   haul list (1,000 rows, 900 live): median {haul_ms:7.1f} ms")
        print(f"   ratio to the slowest ({slowest}): {haul_ms / medians[slowest]:.2f}x")
        print(
            f"   haul server CPU per list call: median {statistics.median(cpu) * 1000:.0f} ms "
            "(steadier than the time on a busy machine; a tick is 10 ms)"
        )
        unknown = sum(c for (_, s), c in statuses.items() if s in ("unknown", "missing"))
        live = sum(c for (cl, _), c in statuses.items() if cl in ("qbit", "trans", "aria2"))
        verdicts.check(f"all {3 * n} live items listed, none unknown ({live}, {unknown})",
                       live == 3 * n and unknown == 0)  # fmt: skip
        verdicts.check(
            f"list median {haul_ms:.1f} ms <= 2 x {medians[slowest]:.1f} ms + 25 ms "
            f"= {limit:.1f} ms",
            haul_ms <= limit,
        )
        rows = sqlite_scalar(db, "SELECT count(*) FROM downloads")
        print(f"   {rows} downloads in the database")
    return verdicts.exit_code()


if __name__ == "__main__":
    raise SystemExit(main())
