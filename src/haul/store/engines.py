"""Database engines: URL normalisation, SQLite pragmas and the NUL filter.

SQLite is the embedded default (WAL, ``busy_timeout``, ``synchronous=NORMAL``, foreign keys),
with the DELETE journal when the file lives on a network filesystem, where WAL's shared memory
does not work. PostgreSQL is used through its URL; every query haul runs works on both.
Migrations are applied by :mod:`haul.store.migrate`.
"""

from __future__ import annotations

import contextlib
import logging
import os
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
VERSION_TABLE = "alembic_version"


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


def install_nul_filter(sync_engine: Any) -> None:
    """PostgreSQL text cannot hold the NUL character, and one in a title or an error message
    from a remote server would fail the write that records a download's end. Requests are
    refused when they carry one (haul.web.nul); what the network hands the worker loses it
    here, on SQLite too so that both keep the same text. (JSON columns are PostgreSQL
    ``json``, which keeps NUL escaped as ``\\u0000``.)"""

    @event.listens_for(sync_engine, "before_cursor_execute", retval=True)
    def _without_nul(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool
    ) -> tuple[str, Any]:
        if many and isinstance(parameters, list):
            return statement, [_clean(p) for p in parameters]
        return statement, _clean(parameters)


def _clean(parameters: Any) -> Any:
    if isinstance(parameters, dict):
        if any(isinstance(v, str) and "\x00" in v for v in parameters.values()):
            return {k: _no_nul(v) for k, v in parameters.items()}
    elif isinstance(parameters, (list, tuple)) and any(
        isinstance(v, str) and "\x00" in v for v in parameters
    ):
        return type(parameters)(_no_nul(v) for v in parameters)
    return parameters


def _no_nul(value: Any) -> Any:
    return value.replace("\x00", "") if isinstance(value, str) else value


def journal_mode_for(path: Path | None) -> str:
    if path is None:
        return "MEMORY"
    return "DELETE" if is_network_filesystem(path.parent) else "WAL"


def prepare_sqlite_file(path: Path) -> None:
    """Make the folder of the SQLite database ``path`` and, when it is new, the file itself,
    readable by haul's user only: it holds password hashes, session and token hashes (SQLite
    gives its journal files the same mode). A file that exists keeps its mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """Create the async engine for ``url`` with haul's connection settings."""
    target = async_url(url)
    if target.get_backend_name() == "sqlite":
        path = sqlite_path(target)
        if path is not None:
            prepare_sqlite_file(path)
        mode = journal_mode_for(path)
        engine = create_async_engine(
            target, connect_args={"timeout": 30}, poolclass=NullPool if path is None else None
        )
        install_sqlite_pragmas(engine.sync_engine, mode)
        log.debug("SQLite at %s with journal_mode=%s", path, mode)
    else:
        engine = create_async_engine(
            target, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
        )
    install_nul_filter(engine.sync_engine)
    return engine


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
    else:
        engine = sa_create_engine(
            target, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
        )
    install_nul_filter(engine)
    return engine


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)
