"""Signed, expiring links to a finished file: made by the download's owner, opened by anyone
who has one (the token is the permission). See :mod:`haul.core.links` for the token.

The signing key is made on first use and kept in the config table under ``secret.file_links``,
so every process of a PostgreSQL instance signs and checks with the same key. It is never
returned by the API and never logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from haul.core import links
from haul.core.units import duration_text
from haul.errors import InvalidLink, InvalidLinkRequest, NotFound
from haul.service.downloads import DownloadService
from haul.service.keys import StoredKey
from haul.service.listing import MAX_ID
from haul.service.values import Owner
from haul.store import file_links
from haul.store.database import Database

log = logging.getLogger(__name__)

KEY_ENTRY = "secret.file_links"
#: Who opens a link: nobody in particular; the token was checked before the file is looked up.
_LINK_HOLDER = Owner(key="link", is_admin=True)


@dataclass(frozen=True, slots=True)
class Link:
    path: str  # "/files/<token>", on this server
    expires_at: datetime
    name: str  # the file's name


class FileLinks:
    def __init__(
        self,
        db: Database,
        downloads: DownloadService,
        *,
        clock: Callable[[], float] = time.time,
        prefix: str = "/files/",
    ) -> None:
        self.db = db
        self.downloads = downloads
        self.clock = clock
        self.prefix = prefix
        self._key = StoredKey(db, KEY_ENTRY, size=links.KEY_BYTES)

    async def create(
        self,
        download_id: int,
        owner: Owner,
        *,
        index: int = 0,
        expires_in: float = links.DEFAULT_EXPIRES_IN,
    ) -> Link:
        """A link to file ``index`` of the owner's finished download, valid ``expires_in``
        seconds. Someone else's download, or one without that file, is not found."""
        if not 0 < expires_in <= links.MAX_EXPIRES_IN:
            raise InvalidLinkRequest(
                f"A link lasts more than 0 seconds and at most 30 days "
                f"({links.MAX_EXPIRES_IN} seconds); not {duration_text(expires_in)}."
            )
        path = await self.downloads.file_path(download_id, owner, index)
        born = await self._born(download_id)
        if born is None:
            raise NotFound(f"There is no download {download_id}.")
        claim = links.Claim(download_id, index, links.expiry(self.clock(), expires_in))
        token = links.sign(await self.key(), claim, born=born)
        return Link(self.prefix + token, claim.expires, path.name)

    async def open(self, token: str) -> Path:
        """The file a link names, once the link is checked: forged, changed, malformed or
        made for a download deleted since raises :class:`~haul.errors.InvalidLink` (one
        answer for all, so ids cannot be probed), expired :class:`~haul.errors.ExpiredLink`,
        a file gone from disk :class:`~haul.errors.NotFound`."""
        claim = links.read(token)
        born = await self._born(claim.download_id) if claim.download_id <= MAX_ID else None
        if born is None:
            raise InvalidLink(links.NOT_VALID)
        links.verify(await self.key(), token, born=born, now=self.clock())
        return await self.downloads.file_path(claim.download_id, _LINK_HOLDER, claim.index)

    async def _born(self, download_id: int) -> int | None:
        async with self.db.read() as s:
            row = await file_links.born_and_hidden(s, download_id)
        if row is None or row.hidden:
            return None
        created: datetime = row.created_at
        return links.born_of(created if created.tzinfo else created.replace(tzinfo=UTC))

    async def key(self) -> bytes:
        """The signing key, made and stored on first use (by whichever process is first)."""
        return await self._key.get()
