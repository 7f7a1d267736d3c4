"""Database engines: URL normalisation, SQLite pragmas, and migrations applied at start.

SQLite is the embedded default (WAL, ``busy_timeout``, ``synchronous=NORMAL``, foreign keys),
with the DELETE journal when the file lives on a network filesystem, where WAL's shared memory
does not work. PostgreSQL is used through its URL; every query haul runs works on both.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from haul.store.fsinfo import is_network_filesystem

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def async_url(url: str) -> URL:
    """The async driver form of a database URL (``sqlite+aiosqlite``, ``postgresql+psycopg``)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    raise ValueError(f"haul supports SQLite and PostgreSQL databases, not {backend!r}")


def sync_url(url: str) -> URL:
    """The blocking driver form of a database URL, used by Alembic."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite")
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    raise ValueError(f"haul supports SQLite and PostgreSQL databases, not {backend!r}")


def sqlite_path(url: URL) -> Path | None:
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def sqlite_pragmas(journal_mode: str) -> list[str]:
    return [
        f"PRAGMA journal_mode={journal_mode}",
        "PRAGMA busy_timeout=30000",
        "PRAGMA synchronous=NORMAL",
        "PRAGMA foreign_keys=ON",
    ]


def install_sqlite_pragmas(sync_engine: Any, journal_mode: str) -> None:
    statements = sqlite_pragmas(journal_mode)

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Leave transaction control to us: BEGIN IMMEDIATE where we write, so that writers
        # queue on busy_timeout instead of failing on a lock upgrade.
        cursor = dbapi_connection.cursor()
        for statement in statements:
            cursor.execute(statement)
        cursor.close()


def journal_mode_for(path: Path | None) -> str:
    if path is None:
        return "MEMORY"
    return "DELETE" if is_network_filesystem(path.parent) else "WAL"


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """Create the async engine for ``url`` with haul's connection settings."""
    target = async_url(url)
    if target.get_backend_name() == "sqlite":
        path = sqlite_path(target)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        mode = journal_mode_for(path)
        engine = create_async_engine(
            target, connect_args={"timeout": 30}, poolclass=NullPool if path is None else None
        )
        install_sqlite_pragmas(engine.sync_engine, mode)
        log.debug("SQLite at %s with journal_mode=%s", path, mode)
        return engine
    return create_async_engine(
        target, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


def create_sync_engine(url: str, *, pool_size: int = 10) -> Engine:
    """The blocking engine beside the async one, for transactions run whole in a thread."""
    target = sync_url(url)
    if target.get_backend_name() == "sqlite":
        path = sqlite_path(target)
        engine = sa_create_engine(
            target,
            connect_args={"timeout": 30, "check_same_thread": False},
            poolclass=NullPool if path is None else None,
        )
        install_sqlite_pragmas(engine, journal_mode_for(path))
        return engine
    return sa_create_engine(target, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)


def upgrade(url: str, revision: str = "head") -> None:
    """Apply Alembic migrations up to ``revision`` (blocking)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["haul_url"] = sync_url(url)
    path = sqlite_path(make_url(url))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(config, revision)


def current_revision(url: str) -> str | None:
    """The revision the database is at, or None for an empty database (blocking)."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine as create_sync_engine

    engine = create_sync_engine(sync_url(url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()


async def upgrade_async(url: str) -> None:
    await asyncio.to_thread(upgrade, url)
