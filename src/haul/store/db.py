"""Database engines: URL normalisation, SQLite pragmas, and migrations applied at start.

SQLite is the embedded default (WAL, ``busy_timeout``, ``synchronous=NORMAL``, foreign keys),
with the DELETE journal when the file lives on a network filesystem, where WAL's shared memory
does not work. PostgreSQL is used through its URL; every query haul runs works on both.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import re
import signal
import threading
from functools import cache
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, inspect, text
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from haul.errors import StorageError
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


def upgrade(url: str, revision: str = "head") -> None:
    """Apply Alembic migrations up to ``revision`` (blocking). A database already at the head
    is only read: Alembic is not loaded."""
    if _at_head(url) and revision == "head":  # (read either way: it makes SQLite's folder)
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["haul_url"] = sync_url(url)
    command.upgrade(config, revision)


def upgrade_in_child(url: str) -> bool:
    """:func:`upgrade` in a forked child process, for a server about to start: Alembic and
    its migrations cost about 8 MiB that no server would give back, to be used once. Call it
    from the main thread before any other starts (a fork copies one thread).

    SQLite cannot undo a half-run migration (its schema changes are not transactional here),
    so the child ignores SIGTERM and SIGINT and always finishes. A SIGTERM or SIGINT to this
    process meanwhile is kept: it waits for the child, then returns False (the caller exits
    instead of starting); a second one kills the child. The child never outlives its
    migration, whatever happens to this process. Raises :class:`~haul.errors.StorageError`
    with the reason when the migration fails."""
    if _at_head(url):
        return True
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_upgrade_child, args=(url, send), name="haul-migrate")
    stops: list[int] = []

    def stop(signum: int, _frame: object) -> None:
        if stops and child.pid is not None:
            os.kill(child.pid, signal.SIGKILL)
        stops.append(signum)
        log.warning("stopping once the database migration under way has finished")

    # only the main thread may handle signals
    main = threading.current_thread() is threading.main_thread()
    watched = [signal.SIGTERM, signal.SIGINT] if main else []
    previous = {sig: signal.signal(sig, stop) for sig in watched}
    try:
        child.start()
        send.close()
        child.join()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    reason = receive.recv() if receive.poll() else f"it stopped with exit code {child.exitcode}"
    receive.close()
    if reason is not None and not stops:
        raise StorageError(reason)
    return not stops


def _upgrade_child(url: str, report: Connection) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    try:
        upgrade(url)
    except Exception as exc:
        report.send(str(getattr(exc, "orig", None) or exc))
    else:
        report.send(None)
    finally:
        report.close()


def _at_head(url: str) -> bool:
    """Whether the database is at the newest migration (a SQLite file's folder is made first:
    reading it creates the file)."""
    path = sqlite_path(make_url(url))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    return current_revision(url) == head_revision()


def current_revision(url: str) -> str | None:
    """The revision the database is at, or None for an empty database (blocking)."""
    engine = sa_create_engine(sync_url(url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table(VERSION_TABLE):
                return None
            return connection.execute(
                text(f"SELECT version_num FROM {VERSION_TABLE}")  # noqa: S608 (a constant)
            ).scalar()
    finally:
        engine.dispose()


def writable_revision(url: str) -> str | None:
    """The revision the database is at, read over a new connection that also proves the
    database takes writes: it rewrites the revision row as it is and commits (blocking).
    A database that answers reads but refuses writes (a read-only file or file system, a
    PostgreSQL in read-only mode) raises here. A new connection, since one held open may
    still write where a new one cannot (and a pool renews its connections)."""
    target = sync_url(url)
    sqlite = target.get_backend_name() == "sqlite"
    args = {"timeout": 5} if sqlite else {"connect_timeout": 5}
    engine = sa_create_engine(target, poolclass=NullPool, connect_args=args)
    try:
        with engine.begin() as connection:
            if not sqlite:
                connection.execute(text("SET LOCAL lock_timeout = '5s'"))
            if not inspect(connection).has_table(VERSION_TABLE):
                return None
            rewrite = f"UPDATE {VERSION_TABLE} SET version_num = version_num"  # noqa: S608
            connection.execute(text(rewrite))
            return connection.execute(
                text(f"SELECT version_num FROM {VERSION_TABLE}")  # noqa: S608 (a constant)
            ).scalar()
    finally:
        engine.dispose()


_REVISION_LINE = re.compile(
    r"""^(revision|down_revision)\b[^=\n]*=\s*["']([^"'\n]+)["']""", re.MULTILINE
)


@cache
def head_revision() -> str:
    """The newest migration's revision, read from the migration files themselves (Alembic's
    own reading of them loads all of Alembic; haul's history is one line)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS_DIR / "versions").glob("*.py"):
        fields = dict(_REVISION_LINE.findall(script.read_text(encoding="utf-8")))
        revisions.add(fields["revision"])
        if "down_revision" in fields:
            parents.add(fields["down_revision"])
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads, not one: {sorted(heads)}")
    return heads.pop()


async def upgrade_async(url: str) -> None:
    await asyncio.to_thread(upgrade, url)
