"""Hold points for the fault tests: a job stops at a named step until the test lets it go.

A test that must kill a process (or take its database away) at one exact step of a job sets
``HAUL_TEST_HOLD=<point>:<flag file>`` and creates the flag file. A job reaching ``<point>``
writes its download id to ``<flag file>.reached`` and waits (without blocking the event loop)
for as long as the flag file exists. haul itself never sets the variable: unset, a hold point
costs one dictionary look-up.

Points: ``filed`` (the finished files are in the download root, the download not recorded
yet), ``recorded`` (recorded, its work folder not deleted yet).
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

VARIABLE = "HAUL_TEST_HOLD"


async def hold(point: str, download_id: int) -> None:
    """Wait at ``point`` while the test's flag file exists (see the module docstring)."""
    spec = os.environ.get(VARIABLE)
    if not spec:
        return
    name, _, flag = spec.partition(":")
    if name != point or not flag:
        return
    await asyncio.to_thread(_held, Path(flag), download_id)


def _held(flag: Path, download_id: int) -> None:
    flag.with_name(flag.name + ".reached").write_text(str(download_id), encoding="utf-8")
    while flag.exists():
        time.sleep(0.02)
