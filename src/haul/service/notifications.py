"""Configuring notification targets: add, change, remove, list, test.

Who sees what: an owner sees and changes their own targets; an administrator sees and changes
every target, and only an administrator sets up global ones (which hear about every owner's
downloads). A secret goes in and never comes out, and an Apprise URL comes out as its scheme
only (:meth:`haul.notify.targets.Target.to_json`).
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from haul.errors import Conflict, GlobalNeedsAdmin, InputError, NotFound
from haul.notify.delivery import Outcome
from haul.notify.kinds import DEFAULT_KINDS
from haul.notify.notifier import Notifier
from haul.notify.targets import (
    TARGET_KINDS,
    Target,
    check_events,
    check_secret,
    check_url,
    default_name,
)
from haul.service.values import Owner
from haul.store import notifications as nq
from haul.store.database import Database
from haul.store.models import NotificationTarget, utcnow

Scope = Literal["global", "owner"]


class NotificationService:
    def __init__(self, db: Database, notifier: Notifier, *, allow_private: bool = True) -> None:
        self.db = db
        self.notifier = notifier
        self.allow_private = allow_private

    async def configured(self, owner: Owner) -> list[Target]:
        async with self.db.read() as s:
            rows = await nq.visible(s, None if owner.is_admin else owner.key)
        return [Target.from_row(row) for row in rows]

    async def get(self, target_id: int, owner: Owner) -> Target:
        async with self.db.read() as s:
            return Target.from_row(await self._row(s, target_id, owner))

    async def create(
        self,
        owner: Owner,
        *,
        kind: str,
        url: str,
        name: str | None = None,
        secret: str | None = None,
        events: list[str] | None = None,
        scope: Scope = "owner",
        enabled: bool = True,
    ) -> Target:
        if kind not in TARGET_KINDS:
            raise InputError(f"A notification target is a webhook or apprise, not {kind!r}.")
        if scope == "global" and not owner.is_admin:
            raise GlobalNeedsAdmin()
        url = await self._checked_url(kind, url)
        if secret and kind != "apprise":
            secret = check_secret(secret)
        elif secret:
            raise InputError("A secret signs webhooks; an Apprise URL carries its own tokens.")
        subscribed = check_events(DEFAULT_KINDS if events is None else events)
        owner_key = None if scope == "global" else owner.key
        given = (name or "").strip()
        async with self.db.write() as s:
            if given and await nq.name_taken(s, given, owner_key):
                raise Conflict(f"A notification target named {given!r} already exists.")
            name = given or await self._free_name(s, default_name(kind, url), owner_key)
            row = NotificationTarget(
                name=name,
                owner_key=owner_key,
                kind=kind,
                url=url,
                secret=secret or None,
                events=list(subscribed),
                enabled=enabled,
            )
            s.add(row)
            await s.flush()
            await s.refresh(row)
            made = Target.from_row(row)
        self.notifier.targets.forget()
        return made

    async def update(self, target_id: int, owner: Owner, changes: dict[str, Any]) -> Target:
        """Change some settings; a secret of None keeps the stored one, "" clears it."""
        unknown = set(changes) - {"name", "url", "secret", "events", "enabled"}
        if unknown:
            raise InputError(f"Unknown notification settings: {', '.join(sorted(unknown))}.")
        current = await self.get(target_id, owner)
        values: dict[str, Any] = {}
        if changes.get("url") is not None:
            values["url"] = await self._checked_url(current.kind, changes["url"])
        if "secret" in changes and changes["secret"] is not None:
            if current.kind == "apprise" and changes["secret"]:
                raise InputError("A secret signs webhooks; an Apprise URL carries its own tokens.")
            values["secret"] = check_secret(changes["secret"])
        if changes.get("events") is not None:
            values["events"] = list(check_events(changes["events"]))
        if changes.get("enabled") is not None:
            values["enabled"] = bool(changes["enabled"])
        if changes.get("name") is not None:
            name = str(changes["name"]).strip()
            if not name:
                raise InputError("A notification target needs a name.")
            values["name"] = name
        async with self.db.write() as s:
            row = await self._row(s, target_id, owner)
            if "name" in values and await nq.name_taken(
                s, values["name"], row.owner_key, but=row.id
            ):
                raise Conflict(f"A notification target named {values['name']!r} already exists.")
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = utcnow()
            await s.flush()
            changed = Target.from_row(row)
        self.notifier.targets.forget()
        return changed

    async def delete(self, target_id: int, owner: Owner) -> None:
        async with self.db.write() as s:
            await s.delete(await self._row(s, target_id, owner))
        self.notifier.targets.forget()

    async def test(self, target_id: int, owner: Owner) -> Outcome:
        """Send a test event to the target now and say how it went."""
        return await self.notifier.test(await self.get(target_id, owner))

    async def _free_name(self, s: Any, base: str, owner_key: str | None) -> str:
        """``base``, or ``base-2``, ``base-3`` ... whichever is free in that scope."""
        name, number = base, 1
        while await nq.name_taken(s, name, owner_key):
            number += 1
            name = f"{base[:60]}-{number}"
        return name

    async def _row(self, s: Any, target_id: int, owner: Owner) -> NotificationTarget:
        row = await nq.by_id(s, target_id)
        if row is None or not (owner.is_admin or row.owner_key == owner.key):
            raise NotFound(f"There is no notification target {target_id}.")
        return row

    async def _checked_url(self, kind: str, url: str) -> str:
        # Apprise loads its plug-ins on first use (a few hundred ms): not on the event loop.
        return await asyncio.to_thread(check_url, kind, url, allow_private=self.allow_private)
