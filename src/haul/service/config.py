"""Runtime settings: the values in effect, held in memory, changed by an administrator.

Every process keeps the values in effect in :attr:`ConfigService.current` (the environment's
defaults with the config table's overrides applied) and reads them from there, never from the
database on a hot path. After a change the process that made it reloads at once and calls
:attr:`ConfigService.tell_others`; on PostgreSQL that is the event bridge's NOTIFY on
``haul_config``, on which every other process reloads. Workers also reload on their periodic
refresh, so a process that missed the notification catches up within seconds.

Listeners given to the constructor or registered with :meth:`ConfigService.on_change` hear
of every change of the values in effect (a worker wakes its scheduler when a limit rose). The
retry policy and the retention ages are read from here when they are needed
(:meth:`~ConfigService.retry_policy`, :meth:`~ConfigService.retention_ages`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from haul.core.config import (
    KEYS,
    SETTINGS,
    RuntimeValues,
    check_changes,
    parse,
    readable,
    shown_form,
    stored_form,
)
from haul.core.retention import RetentionAges
from haul.core.retry import RetryPolicy
from haul.settings import Settings
from haul.store import config as q
from haul.store.database import Database

log = logging.getLogger(__name__)

Listener = Callable[[RuntimeValues, RuntimeValues], None]


def defaults_from(settings: Settings) -> dict[str, Any]:
    """The environment's value of every runtime setting."""
    values = {key: getattr(settings, key) for key in KEYS}
    for setting in SETTINGS:
        if setting.type in ("rules", "rate", "schedule", "timezone"):
            values[setting.key] = parse(setting, values[setting.key])
    return values


class ConfigService:
    def __init__(
        self,
        db: Database,
        defaults: Mapping[str, Any],
        *,
        tell_others: Callable[[], None] = lambda: None,
        listeners: Iterable[Listener] = (),
    ) -> None:
        missing = [key for key in KEYS if key not in defaults]
        if missing:
            raise ValueError(f"no default for {', '.join(missing)}")
        self.db = db
        self.defaults = {key: defaults[key] for key in KEYS}
        #: The values in effect.
        self.current = RuntimeValues.merged(self.defaults, {})
        #: Tells the other processes that a setting changed (nobody, with one process only).
        self.tell_others = tell_others
        self._stored: dict[str, Any] = {}
        self._changed_at: dict[str, datetime] = {}
        self._ignored: dict[str, str] = {}
        self._listeners: list[Listener] = list(listeners)
        self._reloads: set[asyncio.Task[None]] = set()

    def on_change(self, listener: Listener) -> None:
        """Call ``listener(old, new)`` whenever the values in effect change."""
        self._listeners.append(listener)

    # -- reading ----------------------------------------------------------------------------

    async def reload(self) -> RuntimeValues:
        """Read the stored overrides again and apply them (cheap: one small query)."""
        async with self.db.read() as s:
            found = await q.stored_with_times(s, KEYS)
        self._changed_at = {key: at for key, _, at in found}
        self._apply({key: value for key, value, _ in found})
        return self.current

    def reload_soon(self) -> None:
        """Reload in the background (from a notification, which cannot wait)."""
        task = asyncio.get_running_loop().create_task(self._reload_logged(), name="haul-config")
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)

    async def aclose(self) -> None:
        """Let reloads still under way end before the database closes (a reload is one small
        query; cancelling it in the middle of a connect could leave the connection behind)."""
        if self._reloads:
            await asyncio.wait(list(self._reloads), timeout=5)

    async def _reload_logged(self) -> None:
        try:
            await self.reload()
        except Exception:
            log.exception("could not reload the runtime settings")

    def _apply(self, raw: Mapping[str, Any]) -> None:
        good, bad = readable(raw)
        if bad != self._ignored:
            for key, why in bad.items():
                log.warning("ignoring the stored value of %s, using the default: %s", key, why)
            self._ignored = bad
        self._stored = good
        old, new = self.current, RuntimeValues.merged(self.defaults, good)
        if new == old:
            return
        self.current = new
        changed = [key for key in KEYS if getattr(old, key) != getattr(new, key)]
        log.info("runtime settings changed: %s", ", ".join(changed))
        for listener in list(self._listeners):
            try:
                listener(old, new)
            except Exception:
                log.exception("a listener of the runtime settings failed")

    def listing(self) -> list[dict[str, Any]]:
        """Every setting with its value in effect, its default and where the value comes from
        (as of the last reload)."""
        out = []
        for setting in SETTINGS:
            key = setting.key
            stored = key in self._stored
            changed_at = self._changed_at.get(key) if stored else None
            out.append(
                {
                    "key": key,
                    "value": shown_form(getattr(self.current, key)),
                    "default": shown_form(self.defaults[key]),
                    "source": "config" if stored else "default",
                    "description": setting.description,
                    "type": setting.type,
                    "nullable": setting.nullable,
                    "none_means": setting.none_means,
                    "choices": list(setting.choices) or None,
                    "minimum": setting.minimum,
                    "exclusive_minimum": setting.above_minimum,
                    "unit": setting.unit,
                    "updated_at": changed_at,
                }
            )
        return out

    async def settings(self) -> list[dict[str, Any]]:
        """:meth:`listing` after a reload (another process may have changed something)."""
        await self.reload()
        return self.listing()

    # -- changing ---------------------------------------------------------------------------

    async def update(self, changes: Mapping[str, object]) -> list[dict[str, Any]]:
        """Apply a batch of changes, all or nothing (None: back to the default); raises
        :class:`~haul.errors.InvalidConfig` naming every bad key. Returns the listing."""
        if changes:
            async with self.db.write() as s:
                stored, _ = readable(await q.stored(s, KEYS))
                clean = check_changes(changes, defaults=self.defaults, stored=stored)
                await q.put(
                    s, {key: stored_form(value) for key, (keep, value) in clean.items() if keep}
                )
                await q.remove(s, [key for key, (keep, _) in clean.items() if not keep])
            log.info("runtime settings set: %s", ", ".join(sorted(changes)))
            self.tell_others()
        return await self.settings()

    # -- what consumers read ----------------------------------------------------------------

    def retry_policy(self) -> RetryPolicy:
        """The automatic retry policy the values in effect describe."""
        v = self.current
        return RetryPolicy(
            max_attempts=v.retry_max_attempts,
            base_delay=v.retry_base_delay,
            max_delay=v.retry_max_delay,
        )

    def retention_ages(self) -> RetentionAges:
        """How long finished downloads are kept (for :mod:`haul.service.retention`)."""
        v = self.current
        return RetentionAges(days=v.retention_days, anonymous_days=v.anonymous_retention_days)
