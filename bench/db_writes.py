"""Database writes per download: a 1 s and a 60 s direct download must cost the same.

In-process: one :class:`haul.runtime.Runtime` on SQLite (embedded worker), the test origin
throttled so the same 1 MiB file takes about 1 s, then about 60 s. ``runtime.db.write_count``
(committed write transactions) is read before the submit and after the download is
``completed``; the difference is the raw count.

Each write transaction is also attributed to the function that opened it, so the raw count
splits into the download's own state changes (submit, admission, claim, start, completion)
and the worker's periodic housekeeping that runs whether or not a download exists (the lease
heartbeat, and admission or claim passes that found nothing to do). The target (DESIGN.md
section 9: bounded by state changes, independent of length) is judged on the download's own
writes; the raw counts and the housekeeping are printed beside them.

    ./run bench db_writes [--long SECONDS] [--size BYTES]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Verdicts, header
from tests.support.origin import Origin

from haul.runtime import Runtime, build
from haul.service import Owner
from haul.settings import Settings
from haul.store import downloads as queries

#: Write transactions opened by these callers (qualified names) are the periodic housekeeping
#: when they changed nothing (admission and claim passes) or always: the worker's heartbeat,
#: and the retention pass (a minute after the start, then hourly), which records its run.
ALWAYS = ("SqlJobStore.heartbeat", "RetentionService.run")
POLLS = ("SqlJobStore.admission",)  # the worker pass that admits and claims


class WriteTracer:
    """Records every committed write transaction of ``runtime.db`` with its caller."""

    def __init__(self, runtime: Runtime) -> None:
        self.entries: list[dict[str, Any]] = []
        self._current: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
            "write_entry", default=None
        )
        db = runtime.db
        original = db.write

        @contextlib.asynccontextmanager
        async def traced(caller: str, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            entry: dict[str, Any] = {"caller": caller, "changed": None, "at": 0.0}
            token = self._current.set(entry)
            try:
                async with original(*args, **kwargs) as session:
                    yield session
                entry["at"] = time.monotonic()
                self.entries.append(entry)
            finally:
                self._current.reset(token)

        def write(*args: Any, **kwargs: Any) -> Any:
            return traced(sys._getframe(1).f_code.co_qualname, *args, **kwargs)

        db.write = write  # type: ignore[method-assign]
        original_run = db.run

        async def run(work: Any, *args: Any, **kwargs: Any) -> Any:
            """The hot paths' transactions, run whole in the database thread."""
            entry: dict[str, Any] = {
                "caller": sys._getframe(1).f_code.co_qualname,
                "changed": None,
                "at": 0.0,
            }

            def traced_work(session: Any) -> Any:
                token = self._current.set(entry)
                try:
                    return work(session)
                finally:
                    self._current.reset(token)

            result = await original_run(traced_work, *args, **kwargs)
            entry["at"] = time.monotonic()
            self.entries.append(entry)
            return result

        db.run = run  # type: ignore[method-assign]
        for name in ("admit_waiting", "claim"):
            setattr(queries, name, self._noting(getattr(queries, name)))

    def _noting(self, query: Any) -> Any:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            result = query(*args, **kwargs)
            entry = self._current.get()
            if entry is not None:
                entry["changed"] = (entry["changed"] or 0) + len(result)
            return result

        return wrapped

    def since(self, start: float, end: float) -> list[dict[str, Any]]:
        return [e for e in self.entries if start <= e["at"] <= end]


def housekeeping(entry: dict[str, Any]) -> bool:
    if entry["caller"] in ALWAYS:
        return True
    return entry["caller"] in POLLS and not entry["changed"]


async def one_download(
    runtime: Runtime, tracer: WriteTracer, url: str, timeout: float
) -> dict[str, Any]:
    owner = Owner()
    before = runtime.db.write_count
    started = time.monotonic()
    tracked = await runtime.service.submit(url, owner)
    deadline = started + timeout
    while True:
        current = await runtime.service.get(tracked.id, owner)
        if current.status.value in ("completed", "failed", "canceled"):
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"download {tracked.id} still {current.status} after {timeout} s")
        await asyncio.sleep(0.02)
    ended = time.monotonic()
    raw = runtime.db.write_count - before
    if current.status.value != "completed":
        raise SystemExit(f"download {tracked.id} ended {current.status}: {current.error}")
    entries = tracer.since(started - 1e-3, ended)
    own = [e for e in entries if not housekeeping(e)]
    return {
        "seconds": ended - started,
        "raw": raw,
        "traced": len(entries),
        "own": len(own),
        "own_by": Counter(e["caller"] for e in own),
        "housekeeping_by": Counter(e["caller"] for e in entries if housekeeping(e)),
    }


async def run(args: argparse.Namespace, tmp: Path, origin: Origin) -> list[dict[str, Any]]:
    settings = Settings(data_dir=tmp / "data", download_dir=tmp / "downloads", limit_global=10)
    runtime = build(settings)
    tracer = WriteTracer(runtime)
    await runtime.start()
    results = []
    try:
        for label, seconds in (("short", 1.0), ("long", args.long)):
            path = f"/{label}.bin"
            origin.add_file(path, b"h" * args.size)
            origin.throttle(path, max(1, int(args.size / seconds)))
            result = await one_download(runtime, tracer, origin.url(path), seconds * 3 + 30)
            result["label"] = label
            results.append(result)
    finally:
        await runtime.stop()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long", type=float, default=60.0, help="seconds of the long download")
    parser.add_argument("--size", type=int, default=1 << 20)
    args = parser.parse_args()
    header(f"db_writes (SQLite, {args.size} byte file at ~1 s and ~{args.long:g} s)")
    verdicts = Verdicts()
    with tempfile.TemporaryDirectory(prefix="haul-bench-") as tmp, Origin() as origin:
        results = asyncio.run(run(args, Path(tmp), origin))
    for r in results:
        print(
            f"{r['label']:5s}: {r['seconds']:6.1f} s  raw write transactions {r['raw']:3d}"
            f"  (traced {r['traced']}); the download's own {r['own']}"
            f" {dict(sorted(r['own_by'].items()))};"
            f" worker housekeeping {dict(sorted(r['housekeeping_by'].items()))}"
        )
    short, long_ = results
    own_ratio = long_["own"] / short["own"]
    raw_ratio = long_["raw"] / short["raw"]
    print(f"ratio long/short, the download's own writes: {own_ratio:.2f}  (target 1.00)")
    print(f"ratio long/short, raw write_count:           {raw_ratio:.2f}")
    verdicts.check(
        f"own writes equal for {short['seconds']:.0f} s and {long_['seconds']:.0f} s"
        f" ({short['own']} vs {long_['own']})",
        short["own"] == long_["own"],
    )
    verdicts.check(
        "every committed write was traced", all(r["raw"] == r["traced"] for r in results)
    )
    return verdicts.exit_code()


if __name__ == "__main__":
    sys.exit(main())
