"""What the CLI does on the database itself, without a server: the checks ``haul serve`` makes
before it listens, the first administrator it makes from ``HAUL_ADMIN_PASSWORD_FILE``, and
the administrator ``haul users create-admin`` makes or recovers.

Both read the settings the way ``haul serve`` does and bring the schema up to date first, so
they work on a fresh data directory as well as on one a server uses right now.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from haul.core.credentials import check_password
from haul.core.modes import refuse_start
from haul.errors import Conflict, InvalidAccount, StartRefused
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


def first_admin_from_file(settings: Settings) -> str | None:
    """Make the first administrator from ``HAUL_ADMIN_PASSWORD_FILE`` while the instance has no
    account (a container's first start); its name, or None when nothing was made. The file is
    read only then, and its password never shown; one that cannot be used is
    :class:`StartRefused` saying why."""
    path = settings.admin_password_file
    if path is None or with_accounts(settings, lambda accounts: accounts.has_accounts()):
        return None
    try:
        password = path.read_text(encoding="utf-8").rstrip("\r\n")
        check_password(password)
    except OSError as exc:
        raise StartRefused(
            f"HAUL_ADMIN_PASSWORD_FILE={path} cannot be read: {exc.strerror or exc}."
        ) from None
    except (UnicodeDecodeError, InvalidAccount) as exc:
        why = exc.message if isinstance(exc, InvalidAccount) else "it is not UTF-8 text."
        raise StartRefused(f"HAUL_ADMIN_PASSWORD_FILE={path}: {why}") from None
    name = settings.admin_username

    async def make(accounts: AccountService) -> str | None:
        try:
            await accounts.create_user(name, password, role="admin", first=True)
        except Conflict:  # another process of the instance made one meanwhile
            return None
        return name

    return with_accounts(settings, make)


def check_folders(settings: Settings) -> None:
    """:class:`StartRefused` when haul cannot write where it keeps its data, puts downloads
    or files the library (a container run as a user the mounted folders do not belong to)."""
    folders = (
        (settings.data_dir, "HAUL_DATA_DIR"),
        (settings.downloads_root, "HAUL_DOWNLOAD_DIR"),
        (settings.library_root, "HAUL_LIBRARY_DIR"),
    )
    for folder, name in folders:
        nearest = folder.absolute()
        while not nearest.exists() and nearest.parent != nearest:
            nearest = nearest.parent  # where haul would make it
        if nearest.is_dir() and not os.access(nearest, os.W_OK | os.X_OK):
            owner, me = nearest.stat(), (os.getuid(), os.getgid())
            raise StartRefused(
                f"haul cannot write to {nearest} ({name}): it belongs to user "
                f"{owner.st_uid} (group {owner.st_gid}) and haul runs as user {me[0]} (group "
                f"{me[1]}). Give it to haul's user (chown -R {me[0]}:{me[1]} {nearest}) or "
                "run haul as its owner."
            )


async def find_user(accounts: AccountService, name: str) -> UserView | None:
    """The account named ``name`` (names are compared without case, as logins do)."""
    wanted = name.strip().lower()
    return next((u for u in await accounts.users() if u.username.lower() == wanted), None)
