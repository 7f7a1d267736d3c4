"""Probing in a child process: FFmpeg reads downloaded files away from the server.

A finished file comes from anywhere, and FFmpeg's demuxers are C: a file that crashes one
would take the server down with every transfer it runs, and one that makes a demuxer loop
would hold a thread forever. So the server asks :mod:`haul.media.probe_child`, one request a
line over a pipe, and:

- a child that dies on a file makes that file a failed probe (``is_media=False`` with a
  sentence) and the next file gets a new child;
- a file not read within ``timeout`` seconds gets its child killed, and the same sentence;
- the child leaves after ``idle`` seconds without work, so FFmpeg's libraries (about 16 MiB
  of the process) are held only while files are being finished, not for the server's life.

Requests are answered one at a time (a probe reads headers only: a few milliseconds).
:class:`Prober` is blocking and thread-safe, like :func:`haul.media.probe.probe_file`, whose
results it returns.
"""

from __future__ import annotations

import contextlib
import json
import logging
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from haul.errors import NotFound
from haul.media.probe import ProbeResult, unread

log = logging.getLogger(__name__)

IDLE_SECONDS = 30.0
TIMEOUT_SECONDS = 120.0


class _ChildGone(Exception):
    """The child closed its end before answering; ``code`` is its exit code."""

    def __init__(self, code: int | None) -> None:
        super().__init__(code)
        self.code = code


class Prober:
    def __init__(
        self,
        *,
        idle: float = IDLE_SECONDS,
        timeout: float = TIMEOUT_SECONDS,
        # -P: nothing from the working directory (it may be where downloads land) is imported
        command: Sequence[str] = (sys.executable, "-P", "-m", "haul.media.probe_child"),
    ) -> None:
        self.idle = idle
        self.timeout = timeout
        self.command = [*command, str(idle)]
        self._lock = threading.Lock()
        self._child: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The running child's process id, if one runs."""
        child = self._child
        return child.pid if child is not None and child.poll() is None else None

    def probe(
        self, path: Path | str, *, profile: str | None = None, fallback: bool = True
    ) -> ProbeResult:
        """Probe ``path`` in the child (blocking); see :func:`haul.media.probe.probe_file`."""
        path = Path(path)
        asked = str(path.absolute())
        request = json.dumps({"path": asked, "fallback": fallback}).encode()
        with self._lock:
            try:
                reply = self._ask(request + b"\n")
            except _ChildGone as gone:
                return self._failed(path, profile, _gone_reason(gone.code))
            except TimeoutError:
                return self._failed(
                    path, profile, f"FFmpeg did not finish reading it in {self.timeout:g} s"
                )
        if "not_found" in reply:
            raise NotFound(str(reply["not_found"]))
        if reply.get("result", {}).get("path") != asked:  # an answer to another question
            with self._lock:
                self._stop()
            return self._failed(path, profile, NONSENSE)
        return _decode(reply["result"], path, profile)

    def close(self) -> None:
        """Stop the child, if one runs (it also leaves by itself when idle)."""
        with self._lock:
            self._stop()

    # -- with the lock held -------------------------------------------------------------

    def _ask(self, request: bytes) -> dict[str, Any]:
        try:
            return self._exchange(self._running(), request)
        except _ChildGone as gone:
            if gone.code != 0:
                raise
        # It left on its own (idle) just as the request came: ask a new one.
        return self._exchange(self._running(), request)

    def _exchange(self, child: subprocess.Popen[bytes], request: bytes) -> dict[str, Any]:
        stdin, stdout = _pipes(child)
        try:
            stdin.write(request)
            stdin.flush()
            ready, _, _ = select.select([stdout], [], [], self.timeout)
            if not ready:
                self._stop()
                raise TimeoutError
            line = stdout.readline()
        except BrokenPipeError:  # it is gone, or going: what it says is read below
            line = b""
        if not line:  # it closed its end: it is leaving, or gone
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=5)
            self._stop()
            raise _ChildGone(child.returncode)
        try:
            reply: dict[str, Any] = json.loads(line)
        except ValueError:  # not an answer of the protocol: this child cannot be trusted
            self._stop()
            raise _ChildGone(None) from None
        return reply

    def _running(self) -> subprocess.Popen[bytes]:
        child = self._child
        if child is not None and child.poll() is None:
            return child
        self._stop()  # one that left on its own: its pipes
        self._child = subprocess.Popen(
            self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True, cwd="/"
        )
        log.debug("probe child %s started", self._child.pid)
        return self._child

    def _stop(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        if child.poll() is None:
            child.kill()
        child.wait()
        for pipe in (child.stdin, child.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):  # a request left unsent in a broken pipe
                    pipe.close()

    def _failed(self, path: Path, profile: str | None, reason: str) -> ProbeResult:
        log.warning("probing %s: %s", path, reason)
        return replace(unread(path, profile)[0], error=reason)


def _pipes(child: subprocess.Popen[bytes]) -> tuple[IO[bytes], IO[bytes]]:
    assert child.stdin is not None and child.stdout is not None
    return child.stdin, child.stdout


#: The child answered something that is not an answer to the question (it was stopped).
NONSENSE = "the probe gave an answer about something else; the file was not read"


def _gone_reason(code: int | None) -> str:
    if code is None:
        return NONSENSE
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"FFmpeg stopped reading it ({name}): the file may be damaged"
    return f"FFmpeg stopped reading it (exit code {code}): the file may be damaged"


def _decode(fields: dict[str, Any], path: Path, profile: str | None) -> ProbeResult:
    languages = tuple(fields.get("subtitle_languages") or ())
    return ProbeResult(
        **{**fields, "path": path, "profile": profile, "subtitle_languages": languages}
    )
