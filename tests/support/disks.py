"""A small real disk for full-disk tests: a tmpfs of a few MiB, mounted by root, unmounted
after the test.

A full disk cannot be faked honestly (the point is what the kernel answers: ``ENOSPC`` from a
write in the middle of a transfer). Mounting needs root; elsewhere the tests skip, saying why,
except in CI, where a disk that cannot be mounted fails them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.daemons import IN_CI


@contextlib.contextmanager
def small_disk(where: Path, mebibytes: int) -> Iterator[Path]:
    """A tmpfs of ``mebibytes`` MiB mounted at ``where`` (made if missing) while in use."""
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        _unavailable("mounting a small disk needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={mebibytes}m", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        _unavailable(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "--lazy", str(where)], check=True)


def _unavailable(why: str) -> None:
    if IN_CI:
        pytest.fail(f"full-disk tests need a small disk in CI: {why}")
    pytest.skip(why)


def fill(path: Path, size: int) -> Path:
    """A file of ``size`` bytes at ``path`` (ballast: what else the user keeps on that disk)."""
    with path.open("wb") as file:
        file.write(b"\0" * size)
    return path


def free(path: Path) -> int:
    return shutil.disk_usage(path).free
