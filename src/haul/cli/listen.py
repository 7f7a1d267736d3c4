"""``haul serve``'s socket: bound before the server starts, announced once it answers.

A port another program holds is one sentence and exit code 1 before anything starts (not
uvicorn's ``[Errno 98]`` after the whole runtime started and stopped again), and the address
is printed only when the server has bound it and finished starting.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable

import uvicorn

from haul.errors import StartRefused

_REASONS = {
    errno.EADDRINUSE: "another program (or another haul) already listens there; stop it, or "
    "choose another port with --port or HAUL_PORT",
    errno.EADDRNOTAVAIL: "this machine has no such address; choose one of its own with --host "
    "or HAUL_HOST",
    errno.EACCES: "ports below 1024 need root; choose another port with --port or HAUL_PORT",
}


def url_of(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port``, or :class:`StartRefused` saying why not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=2048)
    except socket.gaierror as exc:
        raise StartRefused(f"haul cannot listen on {host}: {exc.strerror}.") from None
    except OSError as exc:
        why = _REASONS.get(exc.errno or 0) or (exc.strerror or str(exc)).lower()
        raise StartRefused(f"haul cannot listen on {url_of(host, port)}: {why}.") from None


class AnnouncingServer(uvicorn.Server):
    """A uvicorn server that calls ``started`` once it listens and its app has started."""

    def __init__(self, config: uvicorn.Config, started: Callable[[], None]) -> None:
        super().__init__(config)
        self._announce = started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and not self.should_exit:
            self._announce()
