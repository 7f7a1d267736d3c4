"""Transmission's RPC through ``transmission-rpc``, one method per call haul uses, nothing more.

The library is synchronous, so every call runs in a worker thread (:func:`asyncio.to_thread`)
with a per-call timeout. Its ``Client`` asks the daemon for its session while being built, so
it is built lazily (in the worker thread, on the first call) and built again after a
connection failure. Answers are Transmission's raw dicts; making sense of them is
:mod:`haul.clients.transmission.mapping`'s job.

Foreign errors stop here: a daemon that cannot be reached raises
:class:`~haul.errors.ClientUnavailable`, bad credentials :class:`~haul.errors.ClientAuthFailed`,
a daemon too old for haul :class:`~haul.errors.ClientVersionUnsupported`, a call the daemon
refuses :class:`~haul.errors.ClientRefused` with its reason, and an answer that is not
Transmission's :class:`~haul.errors.ClientError`. Credentials never appear in a message or a
log.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import requests
from transmission_rpc import (
    Client,
    TransmissionAuthError,
    TransmissionConnectError,
    TransmissionError,
    TransmissionTimeoutError,
)

from haul.errors import (
    ClientAuthFailed,
    ClientError,
    ClientRefused,
    ClientUnavailable,
    ClientVersionUnsupported,
)

T = TypeVar("T")

#: The oldest RPC version haul accepts: 16 (Transmission 3.00) is the first with torrent
#: ``labels``, and the label is how haul tells its torrents from the user's own.
MIN_RPC_VERSION = 16
#: From this RPC version (Transmission 4.0) ``torrent-add`` takes ``labels`` itself.
ADD_LABELS_RPC_VERSION = 17
DEFAULT_PATH = "/transmission/rpc"

# transmission-rpc logs each request's URL, credentials included, at DEBUG, and tracebacks of
# answers it cannot read at ERROR: its logging is off, haul says what went wrong itself.
_library_log = logging.getLogger(f"{__name__}.library")
_library_log.disabled = True


class TransmissionWire:
    """A thin async front for one Transmission daemon. Close it with :meth:`aclose`."""

    def __init__(
        self,
        url: str,
        username: str | None = None,
        password: str | None = None,
        *,
        timeout: float = 10.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            # the URL is not echoed: it may carry a password
            raise ValueError(f"a Transmission RPC URL looks like http://host:port{DEFAULT_PATH}")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.path = parts.path if parts.path not in ("", "/") else DEFAULT_PATH
        host = f"[{self.host}]" if ":" in self.host else self.host
        #: Where the daemon is, for messages (never with credentials).
        self.where = f"{self.scheme}://{host}:{self.port}"
        self.timeout = timeout
        self._username = username if username is not None else _unquoted(parts.username)
        self._password = password if password is not None else _unquoted(parts.password)
        self._client: Client | None = None
        self._rpc_version = 0
        self._lock = threading.Lock()

    async def aclose(self) -> None:
        await asyncio.to_thread(self._drop)

    async def __aenter__(self) -> TransmissionWire:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def rpc_version(self) -> int:
        """The daemon's RPC version, known after the first successful call (else 0)."""
        return self._rpc_version

    # -- the calls -------------------------------------------------------------------------

    async def session(self) -> dict[str, Any]:
        """``session-get``: the daemon's settings, ``version`` and ``rpc-version`` among them."""
        return await self._run(
            "session-get", lambda c: dict(c.get_session(timeout=self.timeout).fields)
        )

    async def torrents(
        self, hashes: Sequence[str] | None, fields: Sequence[str]
    ) -> list[dict[str, Any]]:
        """``torrent-get`` of the given info-hashes (None: every torrent), only ``fields``."""
        if hashes is not None and not hashes:
            return []  # no ids at all would ask for every torrent
        ids: list[int | str] | None = None if hashes is None else list(hashes)

        def call(client: Client) -> list[dict[str, Any]]:
            return [t.fields for t in client.get_torrents(ids, list(fields), timeout=self.timeout)]

        return await self._run("torrent-get", call)

    async def add(
        self,
        source: bytes | str,
        *,
        download_dir: str,
        paused: bool,
        labels: Sequence[str] = (),
    ) -> dict[str, Any]:
        """``torrent-add`` of a .torrent's bytes or a magnet link. Returns ``hashString``,
        ``id`` and ``name`` of the torrent, which may be one the daemon already held.
        ``labels`` are passed only where ``torrent-add`` takes them (RPC 17 and later)."""

        def call(client: Client) -> dict[str, Any]:
            with_labels = list(labels) if self._rpc_version >= ADD_LABELS_RPC_VERSION else None
            torrent = client.add_torrent(
                source,
                timeout=self.timeout,
                download_dir=download_dir,
                paused=paused,
                labels=with_labels or None,
            )
            return dict(torrent.fields)

        return await self._run("torrent-add", call)

    async def set_labels(self, info_hash: str, labels: Sequence[str]) -> None:
        """``torrent-set`` of the torrent's whole label list."""
        await self._run(
            "torrent-set",
            lambda c: c.change_torrent(info_hash, timeout=self.timeout, labels=list(labels)),
        )

    async def set_download_limit(self, kilobytes: int | None) -> None:
        """``session-set`` ``speed-limit-down`` (kB/s, 1,000 bytes each) and
        ``speed-limit-down-enabled`` (None: off)."""
        await self._run(
            "session-set",
            lambda c: c.set_session(
                timeout=self.timeout,
                speed_limit_down=kilobytes or 0,
                speed_limit_down_enabled=kilobytes is not None,
            ),
        )

    async def set_torrents_download_limit(
        self, info_hashes: Sequence[str], kilobytes: int | None
    ) -> None:
        """``torrent-set`` ``downloadLimit`` (kB/s, 1,000 bytes each) and ``downloadLimited``
        (None: off) of the torrents of ``info_hashes``; unknown hashes are ignored."""
        await self._run(
            "torrent-set",
            lambda c: c.change_torrent(
                list(info_hashes),
                timeout=self.timeout,
                download_limit=kilobytes or 0,
                download_limited=kilobytes is not None,
            ),
        )

    async def start(self, info_hash: str) -> None:
        """``torrent-start`` (asynchronous in the daemon; unknown hashes are ignored)."""
        await self._run("torrent-start", lambda c: c.start_torrent(info_hash, timeout=self.timeout))

    async def stop(self, info_hash: str) -> None:
        """``torrent-stop`` (asynchronous in the daemon; unknown hashes are ignored)."""
        await self._run("torrent-stop", lambda c: c.stop_torrent(info_hash, timeout=self.timeout))

    async def remove(self, info_hash: str, *, delete_data: bool) -> None:
        """``torrent-remove`` with ``delete-local-data`` (unknown hashes are ignored)."""
        await self._run(
            "torrent-remove",
            lambda c: c.remove_torrent(info_hash, delete_data=delete_data, timeout=self.timeout),
        )

    # -- the boundary ----------------------------------------------------------------------

    async def _run(self, method: str, call: Callable[[Client], T]) -> T:
        return await asyncio.to_thread(self._call, method, call)

    def _call(self, method: str, call: Callable[[Client], T]) -> T:
        """In a worker thread: (build the client and) make one call, translating errors."""
        try:
            return call(self._connected())
        except ClientUnavailable:
            self._drop()
            raise
        except TransmissionError as exc:
            error = self._translate(method, exc)
            if isinstance(error, ClientUnavailable):
                self._drop()
            raise error from exc
        except requests.RequestException as exc:
            self._drop()
            raise ClientUnavailable(
                f"the connection to Transmission at {self.where} failed ({type(exc).__name__})"
            ) from exc

    def _connected(self) -> Client:
        with self._lock:
            if self._client is not None:
                return self._client
            try:
                client = Client(
                    protocol="https" if self.scheme == "https" else "http",
                    username=self._username,
                    password=self._password,
                    host=self.host,
                    port=self.port,
                    path=self.path,
                    timeout=self.timeout,
                    logger=_library_log,
                )
            except TransmissionError as exc:
                raise self._translate("session-get", exc) from exc
            except requests.RequestException as exc:
                raise ClientUnavailable(
                    f"the connection to Transmission at {self.where} failed ({type(exc).__name__})"
                ) from exc
            try:
                session = client.get_session(timeout=self.timeout).fields
            except TransmissionError as exc:
                client.__exit__(None, None, None)
                raise self._translate("session-get", exc) from exc
            version = session.get("rpc-version")
            if not isinstance(version, int) or version < MIN_RPC_VERSION:
                client.__exit__(None, None, None)
                raise ClientVersionUnsupported(
                    f"Transmission at {self.where} is version {session.get('version', '?')} "
                    f"(RPC {version}); haul needs Transmission 3.00 or later "
                    f"(RPC {MIN_RPC_VERSION}), the first with torrent labels"
                )
            self._rpc_version = version
            self._client = client
            return client

    def _drop(self) -> None:
        """Forget the library client (closing its connections); the next call builds one."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.__exit__(None, None, None)

    def _translate(self, method: str, exc: TransmissionError) -> ClientError:
        where = self.where
        if isinstance(exc, TransmissionTimeoutError):
            if isinstance(exc.__cause__, requests.ConnectTimeout):
                return ClientUnavailable(
                    f"Transmission at {where} did not accept a connection within {self.timeout:g} s"
                )
            return ClientUnavailable(
                f"Transmission at {where} did not answer within {self.timeout:g} s"
            )
        if isinstance(exc, TransmissionConnectError):
            return ClientUnavailable(f"Transmission at {where} {_unreachable(exc)}")
        if isinstance(exc, TransmissionAuthError):
            status = getattr(exc.original, "status_code", None)
            if status == 403:
                return ClientAuthFailed(
                    f"Transmission at {where} does not let haul's address in "
                    "(check rpc-whitelist in its settings)"
                )
            return ClientAuthFailed(f"Transmission at {where} refused the username or password")
        result = exc.response.get("result") if isinstance(exc.response, dict) else None
        if result is not None:
            return ClientRefused(f"Transmission at {where} refused {method}: {result}")
        return ClientError(
            f"{where}{self.path} does not answer like Transmission's RPC ({exc.message})"
        )


def _unquoted(value: str | None) -> str | None:
    return None if value is None else unquote(value)


def _unreachable(exc: BaseException) -> str:
    """Why a connection failed, in words: refused (nothing listens) or the OS's reason."""
    seen: BaseException | None = exc
    reason: str | None = None
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError):
            return "refused the connection (is it running, on that port?)"
        if isinstance(seen, OSError) and seen.strerror and reason is None:
            reason = seen.strerror
        seen = seen.__cause__ or seen.__context__
    if "refused" in str(exc).lower():
        return "refused the connection (is it running, on that port?)"
    return f"cannot be reached ({reason})" if reason else "cannot be reached"
