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


#: The key file's name in the data folder.
KEY_FILE_NAME = "cookies.key"


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

    def exported(self) -> bytes | None:
        """The key as its file holds it, for a backup (None: nothing was sealed here yet)."""
        try:
            return _checked(self.path.read_bytes().strip(), self.path)
        except FileNotFoundError:
            return None

    def install(self, key: bytes) -> None:
        """Make ``key`` (from a backup) the key of this data folder, replacing any other: what
        was sealed under it opens here again. :class:`SealedUnreadable` if it is no key."""
        key = _checked(key.strip(), self.path)
        draft = _draft(self.path, key)
        try:
            draft.replace(self.path)
        finally:
            with contextlib.suppress(OSError):
                draft.unlink()
        with self._lock:
            self._fernet = None

    def _read(self, *, create: bool) -> bytes:
        try:
            return _checked(self.path.read_bytes().strip(), self.path)
        except FileNotFoundError:
            if not create:
                raise SealedUnreadable(
                    f"There is no key file {self.path} here to open sealed data with (copy "
                    "the server's into this data folder)."
                ) from None
        from cryptography.fernet import Fernet

        key = Fernet.generate_key()
        # Written whole under a name of this process's, then linked into place: another
        # process never reads a half-written key, and of two making one at once, one wins.
        draft = _draft(self.path, key)
        try:
            os.link(draft, self.path)
        except FileExistsError:  # another process made it just now: use that one
            return _checked(self.path.read_bytes().strip(), self.path)
        finally:
            with contextlib.suppress(OSError):
                draft.unlink()
        return key


def _draft(path: Path, key: bytes) -> Path:
    """``key`` written whole (and synced) to a file beside ``path`` that only its owner may
    read, under a name of this process and thread's own."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, key + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    return draft


def is_key(data: bytes) -> bool:
    """Whether ``data`` is a key as haul makes them (32 bytes in URL-safe base64)."""
    try:
        return len(base64.urlsafe_b64decode(data)) == 32
    except ValueError:
        return False


def _checked(key: bytes, path: Path) -> bytes:
    if is_key(key):
        return key
    raise SealedUnreadable(f"The key file {path} does not hold a key haul made.")
