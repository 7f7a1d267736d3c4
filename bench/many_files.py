"""Many files: 200 direct 5 MB files at 10 concurrent, haul against curl 10-parallel.

Reference: ``curl --parallel --parallel-max 10 --parallel-immediate`` over the 200 URLs of the
same test origin, timed from start to exit. haul: a real ``haul serve`` (SQLite,
HAUL_LIMIT_GLOBAL=10), timed from the submit (one POST with every URL, as ``haul add URL...``
sends them) to the moment the last ``completed`` event arrives on the SSE stream. Every file of
both runs is checked (size and sha256). The pair runs ``--rounds`` times (3), each timed run
after ``sync`` (nothing of the run before is still being written back), each haul round on a
fresh server; target (DESIGN.md section 9): the median of haul / curl <= 2.0.

The median time of each step of a download in haul (from its events and the origin's request
log) is printed too, with how many downloads were in flight on average, and the CPU time of
curl, of the server (all threads, and its event loop thread alone) and of the origin. On a
shared machine CPU seconds vary less than wall time from run to run. ``--mode`` has two
diagnostics: ``single`` (one POST per URL, one after another, as an API client looping over
URLs would) and ``held`` (the origin holds every file at 1 byte/s until all 200 are submitted
and the first 10 have started, then releases them; timed from the release, so the submit path
is left out). ``--size 50000`` leaves the bytes out and measures the per-download control path.
``--profile FILE`` records the server with py-spy (``.venv/bin/pip install py-spy``) as
collapsed stacks; ``--profile-args=--gil`` keeps only the thread holding the GIL.

    ./run bench many_files [--files N] [--size BYTES] [--mode single|bulk|held] [--rounds 3]
                           [--profile FILE [--profile-args ARGS]]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import resource
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from bench.common import (
    CompletionWatcher,
    Verdicts,
    cpu_seconds,
    header,
    sha256_file,
)
from tests.support.origin import Origin
from tests.support.server import HaulServer

TARGET = 2.0
#: Steps of a download shown by --mode diagnostics: pairs of event kinds or origin requests
#: (a pair missing for a download, e.g. no HEAD probe, is left out).
STEPS = [
    ("created", "admitted"),
    ("admitted", "HEAD"),
    ("HEAD", "started"),
    ("admitted", "started"),
    ("started", "GET"),
    ("GET", "completed"),
    ("admitted", "completed"),
]
PARALLEL = 10


def make_files(folder: Path, count: int, size: int) -> dict[str, tuple[int, str]]:
    """``count`` distinct files (a shared random body behind a unique prefix); name -> (size,
    sha256)."""
    body = os.urandom(size)
    expected = {}
    for n in range(count):
        name = f"file{n:03d}.bin"
        data = f"haul-bench-{n:06d}\n".encode() + body[: size - 18]
        (folder / name).write_bytes(data)
        expected[name] = (len(data), _sha(data))
    return expected


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def verify(files: dict[str, Path], expected: dict[str, tuple[int, str]]) -> list[str]:
    """Names whose file is missing, of the wrong size or of the wrong content."""
    bad = []
    for name, (size, digest) in expected.items():
        path = files.get(name)
        if (
            path is None
            or not path.is_file()
            or path.stat().st_size != size
            or sha256_file(path) != digest
        ):
            bad.append(name)
    return bad


def run_curl(origin: Origin, names: list[str], out: Path) -> float:
    out.mkdir()
    args = ["curl", "--parallel", "--parallel-max", str(PARALLEL), "--parallel-immediate"]
    args += ["--silent", "--show-error", "--no-progress-meter", "--fail"]
    for name in names:
        args += ["-o", str(out / name), origin.url(f"/{name}")]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    origin_before = _own_cpu()
    started = time.monotonic()
    subprocess.run(args, check=True)
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    print(f"curl CPU (user + system): {cpu:.2f} s; origin's: {_own_cpu() - origin_before:.2f} s")
    return elapsed


def _own_cpu() -> float:
    """CPU seconds of this process (the origin's threads serve both runs)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def phase_breakdown(db_path: Path, origin: Origin, urls: dict[int, str], skip: int) -> None:
    """Median time of each step of a download in haul, from its events and the origin's log.

    Events carry haul's wall-clock timestamps and the origin's log the monotonic clock of this
    process, so the origin's times are shifted by the offset between the two clocks.
    """
    offset = time.time() - time.monotonic()
    events: dict[int, dict[str, float]] = {}
    con = sqlite3.connect(db_path)
    try:
        for download_id, kind, at in con.execute(
            "SELECT download_id, kind, at FROM download_events"
        ):
            stamp = dt.datetime.fromisoformat(at).replace(tzinfo=dt.UTC).timestamp()
            events.setdefault(download_id, {})[kind] = stamp
    finally:
        con.close()
    requests: dict[tuple[str, str], float] = {}
    for record in origin.requests:
        requests[(record.path, record.method)] = record.started + offset
    steps: dict[str, list[float]] = {}
    for download_id, url in sorted(urls.items())[skip:]:
        path = "/" + url.rsplit("/", 1)[1]
        marks = {
            **events.get(download_id, {}),
            "HEAD": requests.get((path, "HEAD")),
            "GET": requests.get((path, "GET")),
        }
        for start, end in STEPS:
            begin, finish = marks.get(start), marks.get(end)
            if begin is not None and finish is not None:
                steps.setdefault(f"{start} -> {end}", []).append(finish - begin)
    print("haul, median per download (event kinds and the origin's requests; the transfer")
    print("itself lies inside 'GET -> completed'):")
    for label, values in steps.items():
        print(f"   {label:24s} {statistics.median(values) * 1000:7.1f} ms")
    spans = [
        (marks["started"], marks["completed"])
        for marks in events.values()
        if "started" in marks and "completed" in marks
    ]
    if spans:
        first = min(start for start, _ in spans)
        last = max(end for _, end in spans)
        busy = sum(end - start for start, end in spans)
        print(
            f"   downloads in flight (started -> completed), on average: "
            f"{busy / (last - first):.1f} of {PARALLEL} over {last - first:.3f} s"
        )


def run_haul(
    origin: Origin,
    names: list[str],
    work: Path,
    mode: str,
    profile: Path | None = None,
    profile_args: list[str] | None = None,
) -> tuple[float, float, dict[str, Path]]:
    """(seconds to the last completion, seconds the submits took, name -> haul's file)."""
    server = HaulServer(
        work / "haul-data",
        env={"HAUL_LIMIT_GLOBAL": str(PARALLEL), "HAUL_OVER_LIMIT": "queue"},
    ).start()
    assert server.proc is not None
    spy = _start_profile(server.proc.pid, profile, profile_args or []) if profile else None
    cpu_before = cpu_seconds(server.proc.pid)
    origin_before = _own_cpu()
    paths = [f"/{name}" for name in names]
    try:
        with CompletionWatcher(server.url) as watcher, httpx.Client(timeout=60) as client:
            ids = []
            api = f"{server.url}/api/v1/downloads"
            if mode == "held":  # nothing moves until every download is submitted
                for path in paths:
                    origin.throttle(path, 1)
            started = time.monotonic()
            if mode == "bulk":
                response = client.post(api, json={"urls": [origin.url(p) for p in paths]})
                response.raise_for_status()
                ids = [int(item["id"]) for item in response.json()["items"]]
            for path in [] if mode == "bulk" else paths:
                response = client.post(api, json={"url": origin.url(path)})
                response.raise_for_status()
                ids.append(int(response.json()["id"]))
            submitted = time.monotonic() - started
            if mode == "held":
                while len([r for r in origin.requests if r.method == "GET"]) < PARALLEL:
                    time.sleep(0.01)
                started = time.monotonic()
                for path in paths:
                    origin.throttle(path, None)
            done = watcher.wait_for(ids, timeout=600)
            finished = max(at for _, at in done.values())
            cpu_after = cpu_seconds(server.proc.pid)
            origin_cpu = _own_cpu() - origin_before
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(30)
            elapsed = finished - started
            failed = [i for i, (status, _) in done.items() if status != "completed"]
            if failed:
                raise RuntimeError(f"{len(failed)} haul downloads did not complete: {failed[:5]}")
            listing = client.get(api, params={"status": "completed", "limit": 1000}).json()
        cpu = {key: cpu_after[key] - cpu_before[key] for key in cpu_before}
        print(
            "haul server CPU during the run: "
            + ", ".join(f"{key} {value:.2f} s" for key, value in cpu.items())
            + f"; origin and this process: {origin_cpu:.2f} s"
        )
        skip = PARALLEL if mode == "held" else 0  # the first ones waited on purpose
        urls = {int(item["id"]): item["url"] for item in listing["items"]}
        server.stop()
        phase_breakdown(server.data_dir / "haul.db", origin, urls, skip)
        files = {}
        for item in listing["items"]:
            path = server.downloads / item["files"][0]["path"]
            files[Path(item["url"]).name] = path
        return elapsed, submitted, files
    finally:
        if spy is not None and spy.poll() is None:
            spy.kill()
            spy.wait(10)
        server.stop()


def _start_profile(pid: int, out: Path, extra: list[str]) -> subprocess.Popen[bytes]:
    """py-spy recording ``pid`` (collapsed stacks per thread) into ``out``."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
    args = [spy, "record", "--pid", str(pid), "--format", "raw", "--threads", *extra]
    args += ["--rate", "200", "--output", str(out)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # let it attach before the clock starts
    return proc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--size", type=int, default=5_000_000)
    parser.add_argument(
        "--mode",
        choices=("single", "bulk", "held"),
        default="bulk",
        help="bulk: one POST with every URL, like `haul add` (the benchmark); diagnostics: "
        "single: one POST per URL; held: the origin holds every file until all are "
        "submitted, timed from the release (the transfer pipeline without the submits)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="record the server with py-spy (collapsed stacks per thread) into this file",
    )
    parser.add_argument(
        "--profile-args",
        default="",
        help="more py-spy record options, e.g. '--gil' (only the thread holding the GIL) or "
        "'--idle'",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="curl then haul, this many times; the verdict is on the median ratio",
    )
    args = parser.parse_args()
    header(f"many_files ({args.files} x {args.size / 1e6:g} MB, {PARALLEL} at once)")
    verdicts = Verdicts()
    total_mb = args.files * args.size / 1e6
    ratios: list[float] = []
    all_good = True
    with tempfile.TemporaryDirectory(prefix="haul-bench-") as tmp, Origin() as origin:
        work = Path(tmp)
        source = work / "origin"
        source.mkdir()
        expected = make_files(source, args.files, args.size)
        names = sorted(expected)
        for name in names:
            origin.add_file(f"/{name}", source / name)
        for round_ in range(1, args.rounds + 1):
            print(f"-- round {round_} of {args.rounds}")
            # Each timed run starts with nothing of the run before waiting to be written back
            # (the origin's files, then the other side's copies), so neither pays the other's
            # disk writes.
            os.sync()
            curl_out = work / "curl"
            curl_s = run_curl(origin, names, curl_out)
            bad = verify({n: curl_out / n for n in names}, expected)
            shutil.rmtree(curl_out)
            print(f"curl : {curl_s:7.3f} s  ({total_mb / curl_s:7.1f} MB/s)  bad files: {len(bad)}")
            if bad:
                raise SystemExit(f"curl's own copies are wrong: {bad[:5]}")
            os.sync()
            haul_s, submit_s, files = run_haul(
                origin,
                names,
                work / f"haul-{round_}",
                args.mode,
                args.profile,
                args.profile_args.split(),
            )
            bad = verify(files, expected)
            all_good = all_good and not bad
            shutil.rmtree(work / f"haul-{round_}")
            print(
                f"haul : {haul_s:7.3f} s  ({total_mb / haul_s:7.1f} MB/s)  bad files: {len(bad)}"
                f"  (the {len(names)} submits took {submit_s:.3f} s; mode {args.mode})"
            )
            ratios.append(haul_s / curl_s)
            print(f"ratio haul/curl: {ratios[-1]:.2f}")
        ratio = statistics.median(ratios)
        shown = ", ".join(f"{r:.2f}" for r in ratios)
        print(f"ratios haul/curl: {shown}; median {ratio:.2f}  (target <= {TARGET})")
        verdicts.check(
            f"all {len(names)} haul files of every round match size and sha256", all_good
        )
        verdicts.check(f"haul/curl median {ratio:.2f} <= {TARGET}", ratio <= TARGET)
    return verdicts.exit_code()


if __name__ == "__main__":
    sys.exit(main())
