"""What the CLI does on the database itself, without a server: the check ``haul serve`` makes
before it listens, and the administrator ``haul users create-admin`` makes or recovers.

Both read the settings the way ``haul serve`` does and bring the schema up to date first, so
they work on a fresh data directory as well as on one a server uses right now.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from haul.core.modes import refuse_start
from haul.service.accounts import AccountService, UserView
from haul.settings import Settings
from haul.store.database import Database
from haul.store.migrate import upgrade

T = TypeVar("T")


@asynccontextmanager
async def _accounts(settings: Settings) -> AsyncIterator[AccountService]:
    db = Database(settings.sqlalchemy_url, pool_size=1)
    try:
        yield AccountService(db)
    finally:
        await db.dispose()


def with_accounts(settings: Settings, work: Callable[[AccountService], Awaitable[T]]) -> T:
    """Run ``work`` on the accounts of the database of ``settings`` (whose schema is current:
    see :func:`haul.store.migrate.upgrade`)."""

    async def run() -> T:
        async with _accounts(settings) as accounts:
            return await work(accounts)

    return asyncio.run(run())


def check_start(settings: Settings) -> None:
    """Raise :class:`~haul.errors.StartRefused` when ``haul serve`` would open an instance
    without a login to the network. The database is read only when the answer depends on
    it (auto mode, not on loopback)."""
    has_accounts = False
    if settings.mode == "auto" and not settings.bound_to_loopback:
        upgrade(settings.sqlalchemy_url)
        has_accounts = with_accounts(settings, lambda accounts: accounts.has_accounts())
    refuse_start(
        settings.mode,
        host=settings.host,
        loopback=settings.bound_to_loopback,
        has_accounts=has_accounts,
    )


async def find_user(accounts: AccountService, name: str) -> UserView | None:
    """The account named ``name`` (names are compared without case, as logins do)."""
    wanted = name.strip().lower()
    return next((u for u in await accounts.users() if u.username.lower() == wanted), None)
