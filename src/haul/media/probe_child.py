"""The probe child: ``python -m haul.media.probe_child [IDLE_SECONDS]``.

It reads one request a line on stdin (``{"path": ..., "fallback": ...}``), probes that file with
:func:`haul.media.probe.probe_file` and answers one line on stdout: ``{"result": {...}}``, or
``{"not_found": sentence}`` when no file is there. It leaves with exit code 0 when stdin closes
(its server is gone) or after ``IDLE_SECONDS`` without a request. :mod:`haul.media.prober` is
the other side.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import select
import signal
import sys
from typing import Any, BinaryIO

from haul.errors import NotFound
from haul.media.probe import ProbeResult, probe_file


def encode(result: ProbeResult) -> dict[str, Any]:
    return {**dataclasses.asdict(result), "path": str(result.path)}


def answer(request: dict[str, Any]) -> dict[str, Any]:
    try:
        result = probe_file(request["path"], fallback=bool(request.get("fallback", True)))
    except NotFound as exc:
        return {"not_found": exc.message}
    return {"result": encode(result)}


def serve(requests: BinaryIO, replies: BinaryIO, idle: float) -> int:
    while True:
        # The server sends one request and waits for its answer, so nothing waits in the
        # buffer of ``requests`` while select looks at the pipe.
        ready, _, _ = select.select([requests], [], [], idle)
        if not ready:
            return 0
        line = requests.readline()
        if not line:
            return 0
        replies.write(json.dumps(answer(json.loads(line))).encode() + b"\n")
        replies.flush()


def main() -> int:
    # Ctrl-C in the server's terminal, or a service manager's SIGTERM to the whole group,
    # reaches this process too: it leaves when the server closes its end, not in mid-file.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    # Answers get a file descriptor of their own; anything else printed goes to stderr.
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    idle = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
    return serve(sys.stdin.buffer, replies, idle)


if __name__ == "__main__":
    sys.exit(main())
