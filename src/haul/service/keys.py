"""Secret keys kept in the config table: made on first use by whichever process is first, so
every process of a PostgreSQL instance signs and checks with the same key. Never returned by
the API and never logged."""

from __future__ import annotations

import base64
import logging
import secrets

from sqlalchemy.exc import IntegrityError

from haul.store import config as config_entries
from haul.store.database import Database
from haul.store.models import ConfigEntry

log = logging.getLogger(__name__)


class StoredKey:
    def __init__(self, db: Database, entry: str, *, size: int = 32) -> None:
        self.db = db
        self.entry = entry
        self.size = size
        self._key: bytes | None = None

    async def get(self) -> bytes:
        """The key, made and stored on first use."""
        if self._key is None:
            self._key = await self._load() or await self._make()
        return self._key

    def _decode(self, value: object) -> bytes | None:
        if not isinstance(value, str):
            return None
        try:
            key = base64.b64decode(value, validate=True)
        except ValueError:
            return None
        return key if len(key) == self.size else None

    async def _load(self) -> bytes | None:
        async with self.db.read() as s:
            value = await config_entries.entry_value(s, self.entry)
        return self._decode(value)

    async def _make(self) -> bytes:
        fresh = secrets.token_bytes(self.size)
        try:
            async with self.db.write() as s:
                row = await s.get(ConfigEntry, self.entry)
                kept = None if row is None else self._decode(row.value)
                if kept is not None:
                    return kept
                if row is None:
                    s.add(ConfigEntry(key=self.entry, value=base64.b64encode(fresh).decode()))
                else:
                    row.value = base64.b64encode(fresh).decode()
        except IntegrityError:
            pass  # another process stored its key first: that one is the key
        else:
            log.info("made a new secret key %s", self.entry)
            return fresh
        stored = await self._load()
        if stored is None:
            raise RuntimeError(f"the secret key {self.entry} could not be stored")
        return stored
