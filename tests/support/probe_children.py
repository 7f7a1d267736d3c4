"""A probe child that misbehaves on purpose, for :mod:`haul.media.prober`'s tests:
``python -m tests.support.probe_children IDLE``. A path whose name holds ``crash`` kills it
with SIGSEGV, one holding ``hang`` never gets an answer, one holding ``liar`` gets the answer
about another file; any other is answered by the real child's code."""

from __future__ import annotations

import json
import os
import signal
import sys
import time

from haul.media.probe_child import answer


def main() -> int:
    for line in sys.stdin.buffer:
        path = json.loads(line)["path"]
        if "crash" in os.path.basename(path):
            os.kill(os.getpid(), signal.SIGSEGV)
        if "hang" in os.path.basename(path):
            time.sleep(3600)
        if "liar" in os.path.basename(path):  # the answer about another file
            path = os.path.join(os.path.dirname(path), "other.bin")
            open(path, "wb").close()
        sys.stdout.buffer.write(json.dumps(answer({"path": path})).encode() + b"\n")
        sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
