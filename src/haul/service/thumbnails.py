"""Thumbnails kept on disk: a page's picture fetched once, a library file's frame grabbed once.

A browser showing haul's pages loads images from haul only (the pages' Content-Security-Policy
says so, and a picture loaded from a site would tell that site who looks at the queue). So
haul fetches a download's thumbnail itself, through the address guard (the guarded httpx
client every fetch for a download uses), keeps the bytes under the data folder and serves
them. A fetch reads at most :attr:`ThumbnailCache.max_bytes`, within
:attr:`ThumbnailCache.timeout` seconds, and keeps the bytes only when they are a JPEG, PNG,
GIF or WebP image by their first bytes (:func:`haul.core.images.sniff`), whatever the server
called them. A failure is logged once, and remembered for :attr:`ThumbnailCache.retry_after`
seconds: a page that shows the download again shows a placeholder and asks nobody.

Files are named by the SHA-256 of what they are a copy of (the address, or a library file's
path, size and time), so two downloads of one page share one file. The folder is kept under
:attr:`ThumbnailCache.cap_bytes`: the files used longest ago go first (a hit touches its file).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from haul.core.images import SNIFF_BYTES, sniff
from haul.errors import HaulError

log = logging.getLogger(__name__)

MAX_BYTES = 5 * 1024 * 1024
TIMEOUT_SECONDS = 15.0
RETRY_AFTER_SECONDS = 6 * 3600.0
CAP_BYTES = 256 * 1024 * 1024
MAKING_AT_ONCE = 4
_IMAGE = ".img"
_FAILED = ".failed"


@dataclass(frozen=True, slots=True)
class Thumbnail:
    """A thumbnail on disk, with its type (sniffed) and a validator for HTTP caching."""

    path: Path
    content_type: str
    etag: str

    def read(self) -> bytes:
        return self.path.read_bytes()


class ThumbnailCache:
    def __init__(
        self,
        folder: Path,
        http: httpx.AsyncClient,
        *,
        max_bytes: int = MAX_BYTES,
        timeout: float = TIMEOUT_SECONDS,
        retry_after: float = RETRY_AFTER_SECONDS,
        cap_bytes: int = CAP_BYTES,
    ) -> None:
        self.folder = folder
        self.http = http
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.retry_after = retry_after
        self.cap_bytes = cap_bytes
        self._locks: dict[str, asyncio.Lock] = {}
        #: Fetches and frame grabs at once: a page of many new downloads does not start
        #: a hundred of either.
        self._making = asyncio.Semaphore(MAKING_AT_ONCE)

    async def remote(self, url: str) -> Thumbnail | None:
        """The thumbnail at ``url``, fetched the first time it is asked for; None when it
        could not be had (or could not recently)."""
        return await self._kept(_key("url", url), lambda: self._fetch(url))

    async def local(
        self, identity: str, make: Callable[[], Awaitable[bytes | None]]
    ) -> Thumbnail | None:
        """The thumbnail made by ``make`` for ``identity`` (a file's path, size and time),
        made the first time it is asked for."""
        return await self._kept(_key("file", identity), make)

    def failed(self, url: str) -> bool:
        """Whether the fetch of ``url`` failed and is not tried again yet (a download whose
        picture could not be had shows none: the pages draw no box, the API says null)."""
        return self._failed_recently(_key("url", url))

    def forget(self, url: str) -> None:
        """Drop the copy of ``url`` (its download was removed)."""
        key = _key("url", url)
        for suffix in (_IMAGE, _FAILED):
            with contextlib.suppress(OSError):
                (self.folder / f"{key}{suffix}").unlink()

    # -- the cache ------------------------------------------------------------------------

    async def _kept(
        self, key: str, make: Callable[[], Awaitable[bytes | None]]
    ) -> Thumbnail | None:
        found = self._found(key)
        if found is not None or self._failed_recently(key):
            return found
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:  # one fetch however many pages ask at once
                found = self._found(key)
                if found is not None or self._failed_recently(key):
                    return found
                async with self._making:
                    data = await make()
                if data is None:
                    await asyncio.to_thread(self._mark_failed, key)
                    return None
                return await asyncio.to_thread(self._store, key, data)
        finally:
            if not lock.locked():
                self._locks.pop(key, None)

    def _found(self, key: str) -> Thumbnail | None:
        path = self.folder / f"{key}{_IMAGE}"
        try:
            with path.open("rb") as f:
                kind = sniff(f.read(SNIFF_BYTES))
            stat = path.stat()
            os.utime(path)  # used now: the last to go when the folder is trimmed
        except OSError:
            return None
        if kind is None:
            return None
        return Thumbnail(path, kind, f'"{key[:20]}-{stat.st_size}"')

    def _failed_recently(self, key: str) -> bool:
        try:
            age = time.time() - (self.folder / f"{key}{_FAILED}").stat().st_mtime
        except OSError:
            return False
        return age < self.retry_after

    def _mark_failed(self, key: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / f"{key}{_FAILED}").touch()

    def _store(self, key: str, data: bytes) -> Thumbnail | None:
        kind = sniff(data[:SNIFF_BYTES])
        if kind is None:
            self._mark_failed(key)
            return None
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{key}{_IMAGE}"
        partial = path.with_suffix(".tmp")
        partial.write_bytes(data)
        partial.replace(path)
        with contextlib.suppress(OSError):
            (self.folder / f"{key}{_FAILED}").unlink()
        self._trim(keep=path)
        return Thumbnail(path, kind, f'"{key[:20]}-{len(data)}"')

    def _trim(self, keep: Path) -> None:
        """Delete the files used longest ago until the folder is under its cap (and the
        notes of failures that will be tried again anyway)."""
        entries: list[tuple[float, int, Path]] = []
        stale = time.time() - self.retry_after
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.folder):
                stat = entry.stat()
                if entry.name.endswith(_IMAGE):
                    entries.append((stat.st_mtime, stat.st_size, Path(entry.path)))
                elif entry.name.endswith(_FAILED) and stat.st_mtime < stale:
                    Path(entry.path).unlink(missing_ok=True)
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= self.cap_bytes:
                break
            if path == keep:
                continue
            with contextlib.suppress(OSError):
                path.unlink()
                total -= size

    # -- fetching ---------------------------------------------------------------------------

    async def _fetch(self, url: str) -> bytes | None:
        try:
            async with asyncio.timeout(self.timeout):
                return await self._read(url)
        except TimeoutError:
            log.info("thumbnail %s: no answer within %g s", url, self.timeout)
        except (httpx.HTTPError, OSError, HaulError) as exc:  # a refused address among them
            log.info("thumbnail %s: %s", url, exc)
        return None

    async def _read(self, url: str) -> bytes | None:
        headers = {"Accept": "image/jpeg, image/png, image/webp, image/gif"}
        async with self.http.stream("GET", url, headers=headers) as response:
            if response.status_code != 200:
                log.info("thumbnail %s: the server answered %d", url, response.status_code)
                return None
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                log.info("thumbnail %s: %s bytes, more than the limit", url, declared)
                return None
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > self.max_bytes:
                    log.info("thumbnail %s: more than %d bytes", url, self.max_bytes)
                    return None
        if sniff(bytes(body[:SNIFF_BYTES])) is None:
            log.info("thumbnail %s: not a JPEG, PNG, GIF or WebP image", url)
            return None
        return bytes(body)


def _key(kind: str, what: str) -> str:
    return hashlib.sha256(f"{kind}\n{what}".encode()).hexdigest()
