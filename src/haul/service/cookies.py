"""Site cookies per owner: upload a cookies.txt, list and remove the sets, and hand a job the
cookies of its owner (:mod:`haul.core.cookies` says which of them a request gets).

Each set belongs to the owner who uploaded it (an account, the local user, or a visitor's
session in public mode) and is seen, used and removed by that owner only; administrators
included, as cookies are a person's sign-ins to other sites. The cookies are sealed before
they are stored (:mod:`haul.store.sealed`); lists show the sites, how many cookies and the
first expiry, never a name or a value, and nothing here logs either.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from haul.core import cookies as site_cookies
from haul.core.cookies import SiteCookies
from haul.errors import NotFound, SealedUnreadable
from haul.service.values import Owner
from haul.store.database import Database
from haul.store.models import CookieSet
from haul.store.sealed import KeyFile

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CookieSetView:
    """A stored set as lists show it."""

    id: int
    domains: list[str]
    count: int
    expires_at: datetime | None
    created_at: datetime
    #: Lines of the uploaded file left out (their domain is not a host name), and the
    #: sentence telling so; an upload's answer only.
    left_out: int = 0
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "id": self.id,
            "domains": self.domains,
            "count": self.count,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "created_at": self.created_at.isoformat(),
        }
        if self.note is not None:
            shown.update(left_out=self.left_out, note=self.note)
        return shown


def _view(row: CookieSet) -> CookieSetView:
    return CookieSetView(
        id=row.id,
        domains=list(row.domains),
        count=row.count,
        expires_at=row.expires_at,
        created_at=row.created_at,
    )


#: How many owners' cookies a process keeps opened (public mode has one owner per visitor).
KEPT_OWNERS = 1024


class CookieService:
    """Owners' sets; a job's owner's cookies are opened once and kept (every job reads them:
    a read of the database per job was a tenth of a second under load), until a set of the
    owner changes here, or any set changes in another process (``tell_others`` and
    :meth:`forget`)."""

    def __init__(
        self, db: Database, key: KeyFile, *, tell_others: Callable[[], None] = lambda: None
    ) -> None:
        self.db = db
        self.key = key
        self.tell_others = tell_others
        #: Sets found unreadable here, told of once (a warning), not with every job.
        self._unreadable: set[int] = set()
        self._kept: OrderedDict[str, SiteCookies | None] = OrderedDict()
        #: Counts changes, so a read that began before one is not kept after it.
        self._changes = 0

    def forget(self, owner_key: str | None = None) -> None:
        """Read an owner's sets (None: everyone's) again when next asked: they changed."""
        self._changes += 1
        if owner_key is None:
            self._kept.clear()
        else:
            self._kept.pop(owner_key, None)

    def _changed(self, owner_key: str) -> None:
        self.forget(owner_key)
        self.tell_others()

    async def add(self, owner: Owner, text: str) -> CookieSetView:
        """Store a Netscape cookies.txt for ``owner``; bad input raises an InputError (or
        PayloadTooLarge) with a sentence a person understands."""
        parsed = site_cookies.parse_counted(text)
        cookies = parsed.cookies
        sealed = self.key.seal(json.dumps(site_cookies.to_records(cookies)).encode())
        async with self.db.write() as s:
            row = CookieSet(
                owner_key=owner.key,
                domains=site_cookies.domains_of(cookies),
                count=len(cookies),
                expires_at=site_cookies.earliest_expiry(cookies),
                sealed=sealed,
            )
            s.add(row)
            await s.flush()
            await s.refresh(row)
            view = replace(_view(row), left_out=parsed.left_out, note=parsed.note)
        self._changed(owner.key)
        log.info(
            "cookies: %s uploaded %d for %s%s",
            owner.key,
            view.count,
            ", ".join(view.domains),
            f" ({parsed.left_out} lines left out)" if parsed.left_out else "",
        )
        return view

    async def listed(self, owner: Owner) -> list[CookieSetView]:
        async with self.db.read() as s:
            rows = await s.scalars(
                select(CookieSet).where(CookieSet.owner_key == owner.key).order_by(CookieSet.id)
            )
            return [_view(row) for row in rows]

    async def remove(self, owner: Owner, set_id: int) -> None:
        async with self.db.write() as s:
            row = await s.get(CookieSet, set_id)
            if row is None or row.owner_key != owner.key:
                raise NotFound(f"You have no cookie set {set_id}.")
            await s.delete(row)
        self._changed(owner.key)

    async def remove_all(self, owner_key: str) -> int:
        """Remove every set of an owner (an account going away); how many there were."""
        async with self.db.write() as s:
            result = await s.execute(delete(CookieSet).where(CookieSet.owner_key == owner_key))
        self._changed(owner_key)
        return int(getattr(result, "rowcount", 0) or 0)

    async def for_owner(self, owner_key: str) -> SiteCookies | None:
        """All of an owner's cookies, for a job (None: the owner uploaded none). A set that
        cannot be opened here is left out, with a warning (once) naming the set only."""
        if owner_key in self._kept:
            self._kept.move_to_end(owner_key)
            return self._kept[owner_key]
        changes = self._changes
        found = await self._read(owner_key)
        if changes == self._changes:
            self._kept[owner_key] = found
            if len(self._kept) > KEPT_OWNERS:
                self._kept.popitem(last=False)
        return found

    async def _read(self, owner_key: str) -> SiteCookies | None:
        async with self.db.read() as s:
            rows = (
                await s.execute(
                    select(CookieSet.id, CookieSet.sealed)
                    .where(CookieSet.owner_key == owner_key)
                    .order_by(CookieSet.id)
                )
            ).all()
        if not rows:
            return None
        sets = []
        for set_id, sealed in rows:
            try:
                records = json.loads(self.key.open(sealed))
            except SealedUnreadable as exc:
                level = logging.DEBUG if set_id in self._unreadable else logging.WARNING
                self._unreadable.add(set_id)
                log.log(level, "cookie set %s is not used: %s", set_id, exc.message)
                continue
            sets.append(site_cookies.from_records(records))
        return site_cookies.merged(sets) if sets else None
