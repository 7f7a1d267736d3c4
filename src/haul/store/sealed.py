"""Secrets kept sealed at rest: Fernet (AES-128-CBC with HMAC-SHA256) under a key file.

The key lives in a file of the data folder (``cookies.key``), never in the database: a copy
of the database alone (a backup, a dump sent along with a bug report) opens nothing. The file
is made on the first seal, readable by its owner only (0600); a process that only opens
(a worker on another machine) never makes one: without the file of the server it cannot
read what the server sealed, and says so.
"""

from __future__ import annotations

import base64
import contextlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from haul.errors import SealedUnreadable

if TYPE_CHECKING:
    from cryptography.fernet import Fernet


class KeyFile:
    """Seals and opens bytes with the key in ``path`` (made on the first :meth:`seal`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fernet: Fernet | None = None
        self._lock = threading.Lock()

    def seal(self, data: bytes) -> bytes:
        return self._key(create=True).encrypt(data)

    def open(self, token: bytes) -> bytes:
        """The data sealed in ``token``; :class:`SealedUnreadable` when this key cannot."""
        from cryptography.fernet import InvalidToken

        try:
            return self._key(create=False).decrypt(token)
        except InvalidToken:
            raise SealedUnreadable(
                f"Sealed data cannot be opened with the key in {self.path}: the key file was "
                "replaced since it was sealed."
            ) from None

    def _key(self, *, create: bool) -> Fernet:
        # Loaded by the first seal or open, not at start: its library costs about 6 MiB of
        # memory to every process, most of which never meets a sealed secret.
        from cryptography.fernet import Fernet

        with self._lock:
            if self._fernet is None:
                self._fernet = Fernet(self._read(create=create))
            return self._fernet

    def _read(self, *, create: bool) -> bytes:
        try:
            return _checked(self.path.read_bytes().strip(), self.path)
        except FileNotFoundError:
            if not create:
                raise SealedUnreadable(
                    f"There is no key file {self.path} here to open sealed data with (copy "
                    "the server's into this data folder)."
                ) from None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        from cryptography.fernet import Fernet

        key = Fernet.generate_key()
        # Written whole under a name of this process's, then linked into place: another
        # process never reads a half-written key, and of two making one at once, one wins.
        draft = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, key + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(draft, self.path)
        except FileExistsError:  # another process made it just now: use that one
            return _checked(self.path.read_bytes().strip(), self.path)
        finally:
            with contextlib.suppress(OSError):
                draft.unlink()
        return key


def _checked(key: bytes, path: Path) -> bytes:
    try:
        if len(base64.urlsafe_b64decode(key)) == 32:
            return key
    except ValueError:
        pass
    raise SealedUnreadable(f"The key file {path} does not hold a key haul made.")
