"""What an account owns, and what becomes of it when the account is deleted.

An account owns its downloads, its media items (with the library files filed for them), its
IPTV providers, its notification targets (webhooks, Apprise URLs) and its subscriptions.
Deleting an account that owns any of them needs an explicit choice:

- ``delete``: its downloads are canceled in their clients and removed with their data (inside
  haul's folders only), its media items with their library files, its IPTV providers, its
  notification targets, its subscriptions (first, so that no check adds a download
  meanwhile) and its log of refused sources;
- ``transfer``: all of it is handed to another account, which owns it from then on.

Either way its logins, API tokens and site cookies end first (the account is disabled while
the rest is done, so nothing new arrives), and ids are never given out again (migration
0009): a later account never inherits anything of a deleted one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from haul.errors import Conflict, InputError, NotFound
from haul.service.accounts import AccountService
from haul.service.cookies import CookieService
from haul.service.downloads import DownloadService
from haul.service.media import MediaService
from haul.service.values import Owner
from haul.store import ownership as owned_rows
from haul.store.database import Database
from haul.store.models import Download, IptvProvider, MediaItem, NotificationTarget, Subscription

log = logging.getLogger(__name__)

Choice = Literal["delete", "transfer"]
#: Who acts on the owned things: an administrator (sees every owner's rows).
_ADMIN = Owner(key="local", is_admin=True)


@dataclass(frozen=True, slots=True)
class Owned:
    """How many things of each kind an account owns."""

    downloads: int = 0
    media_items: int = 0
    iptv_providers: int = 0
    notification_targets: int = 0
    subscriptions: int = 0

    @property
    def total(self) -> int:
        return (
            self.downloads
            + self.media_items
            + self.iptv_providers
            + self.notification_targets
            + self.subscriptions
        )

    def said(self) -> str:
        """As a person says it: "3 downloads, 1 media item and 2 notification targets"."""
        parts = [
            f"{n} {word}{'' if n == 1 else 's'}"
            for n, word in (
                (self.downloads, "download"),
                (self.media_items, "media item"),
                (self.iptv_providers, "IPTV provider"),
                (self.notification_targets, "notification target"),
                (self.subscriptions, "subscription"),
            )
            if n
        ]
        if len(parts) < 2:
            return "".join(parts) or "nothing"
        return ", ".join(parts[:-1]) + " and " + parts[-1]


def owner_key(user_id: int) -> str:
    return f"user:{user_id}"


class OwnershipService:
    def __init__(
        self,
        db: Database,
        accounts: AccountService,
        downloads: DownloadService,
        media: MediaService,
        cookies: CookieService | None = None,
    ) -> None:
        self.db = db
        self.accounts = accounts
        self.downloads = downloads
        self.media = media
        self.cookies = cookies

    async def owned(self, user_id: int) -> Owned:
        await self.accounts.user(user_id)
        async with self.db.read() as s:
            return await _count(s, owner_key(user_id))

    async def delete_user(
        self, user_id: int, *, owned: Choice | None = None, to: int | None = None
    ) -> Owned:
        """Delete the account; what it owns is deleted or handed to user ``to``, as chosen.
        With no choice, an account that owns anything is refused with what it owns. Returns
        what it owned."""
        user = await self.accounts.check_deletable(user_id)
        if owned == "transfer":
            if to is None:
                raise InputError("Say which user receives what the account owns.")
            if to == user_id:
                raise InputError("What an account owns cannot be handed to the account itself.")
            try:
                await self.accounts.user(to)
            except NotFound:
                raise InputError(f"There is no user {to} to hand it to.") from None
        elif to is not None:
            raise InputError("A user to hand things to goes only with the choice to transfer.")
        found = await self.owned(user_id)
        if owned is None and found.total:
            raise Conflict(
                f"{user.username} owns {found.said()}. Choose: delete them with the account, "
                "or hand them to another user."
            )
        await self.accounts.lock_out(user_id)
        if self.cookies is not None:
            # Site cookies are the person's sign-ins elsewhere: they end with the account,
            # like its logins, and are never handed to another.
            await self.cookies.remove_all(owner_key(user_id))
        if owned == "transfer":
            assert to is not None
            await self._transfer(user_id, to)
        elif owned == "delete":
            await self._delete_owned(user_id)
        await self.accounts.delete_user(user_id)
        log.info("user %s deleted; what it owned (%s): %s", user_id, found.said(), owned)
        return found

    async def _transfer(self, user_id: int, to: int) -> None:
        key, new = owner_key(user_id), owner_key(to)
        async with self.db.write(admission=True) as s:
            await owned_rows.hand_over(s, key, new, user_id, to)

    async def _delete_owned(self, user_id: int) -> None:
        key = owner_key(user_id)
        async with self.db.write() as s:
            await owned_rows.delete_subscriptions(s, key)
        async with self.db.read() as s:
            rows = await owned_rows.owned_downloads(s, key)
            items = await owned_rows.owned_top_items(s, key)
        for download_id, hidden in rows:
            if hidden:  # out of view already: only its data is left to delete
                await self.downloads.delete_data(download_id)
                continue
            try:
                await self.downloads.cancel(download_id, _ADMIN, delete_files=True, hide=True)
            except NotFound:
                continue  # gone meanwhile
        for media_id in items:
            try:
                await self.media.delete(media_id, _ADMIN, delete_files=True)
            except NotFound:
                continue
        async with self.db.write(admission=True) as s:
            await owned_rows.delete_owned(s, key)


async def _count(s: AsyncSession, key: str) -> Owned:
    async def rows(table: owned_rows.Counted) -> int:
        return await owned_rows.count_owned(s, table, key)

    return Owned(
        await rows(Download),
        await rows(MediaItem),
        await rows(IptvProvider),
        await rows(NotificationTarget),
        await rows(Subscription),
    )


__all__ = ["Choice", "Owned", "OwnershipService", "owner_key"]
