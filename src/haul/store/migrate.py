"""Migrations applied at start: the database's revision, Alembic run when it is behind.

A database already at the newest revision is only read (Alembic is not loaded); a server
migrates in a forked child (:func:`upgrade_in_child`) so that it never holds Alembic.
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

from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from haul.errors import StorageError
from haul.store.engines import prepare_sqlite_file, sqlite_path, sync_url

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"


class _OneLine(logging.Filter):
    """Alembic's "Running upgrade 0006 -> 0007, <summary>" on one line: a migration's summary
    (the first paragraph of its docstring, haul's own text) may span source lines, which the
    log would otherwise show as ``\\x0a``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):  # the step is an object whose str is the line
            record.args = tuple(
                " ".join(str(a).split()) if "\n" in str(a) else a for a in record.args
            )
        return True


def upgrade(url: str, revision: str = "head") -> None:
    """Apply Alembic migrations up to ``revision`` (blocking). A database already at the head
    is only read: Alembic is not loaded."""
    if _at_head(url) and revision == "head":  # (read either way: it makes SQLite's folder)
        return
    from alembic import command
    from alembic.config import Config

    steps = logging.getLogger("alembic.runtime.migration")
    if not any(isinstance(f, _OneLine) for f in steps.filters):
        steps.addFilter(_OneLine())
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
        prepare_sqlite_file(path)
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
def known_revisions() -> tuple[frozenset[str], str]:
    """Every revision of haul's migrations, and the newest, read from the migration files
    themselves (Alembic's own reading of them loads all of Alembic; haul's history is one
    line)."""
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
    return frozenset(revisions), heads.pop()


def head_revision() -> str:
    """The newest migration's revision."""
    return known_revisions()[1]


async def upgrade_async(url: str) -> None:
    await asyncio.to_thread(upgrade, url)
