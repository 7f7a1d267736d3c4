"""What the fixtures that start real daemons share: finding the binary (a skip locally, a
failure in CI), free loopback ports, and stopping a process by its PID."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def require(binary: str, package: str) -> str:
    """``binary``'s path; skips the test without it, or fails it in CI (``CI=true``)."""
    found = shutil.which(binary)
    if found is None:
        if IN_CI:
            raise RuntimeError(f"{binary} is required in CI (apt-get install {package})")
        pytest.skip(f"{binary} is not installed")
    return found


def free_ports(count: int = 1) -> list[int]:
    """Distinct free loopback ports (held open together, so they differ)."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def free_port() -> int:
    return free_ports(1)[0]


def terminate(
    process: subprocess.Popen[bytes],
    *,
    timeout: float = 10.0,
    wake: tuple[str, int] | None = None,
) -> None:
    """SIGTERM (after SIGCONT, in case a test froze it), wait, kill if it lingers; idempotent.

    ``wake``: an address to connect to once, for daemons that notice signals only when their
    event loop wakes."""
    if process.poll() is not None:
        return
    for signum in (signal.SIGCONT, signal.SIGTERM):
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signum)
    if wake is not None:
        with contextlib.suppress(OSError), socket.create_connection(wake, timeout=1):
            pass
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)
