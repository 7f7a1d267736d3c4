"""Backups of an instance: its database and the data folder's key file, in one archive.

A backup is a gzip-compressed tar archive of these members, read back by name only (nothing
is ever extracted by the archive's own paths):

- ``haul-backup.json``: what it is (``"format": "haul-backup"``), the haul version and the
  database revision it was made at, and which database it holds;
- ``haul.db``: a SQLite database, copied with SQLite's online backup API (a consistent copy
  while haul runs and writes), or ``haul.pgdump``: a PostgreSQL database as ``pg_dump
  --format=custom`` writes it;
- ``cookies.key``: the key that seals site cookies and profiles' proxy credentials
  (:mod:`haul.store.sealed`), absent when nothing was ever sealed. Without it a restored
  instance could not open them.

The downloaded files and the library are not in it: they are ordinary files, which file
backups copy as they are. The archive holds password hashes, tokens' hashes and the key: it is
written readable by its owner only.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from haul.errors import BackupError
from haul.store.backup_archive import (
    KIND_NAMES,
    MEMBERS,
    Kind,
    Manifest,
    extract,
    member,
    not_a_backup,
    open_archive,
    read_manifest,
    write_archive,
)
from haul.store.engines import sqlite_path, sync_url
from haul.store.migrate import current_revision, known_revisions
from haul.store.models import Download, MediaItem, User, Worker, utcnow
from haul.store.sealed import KEY_FILE_NAME, KeyFile, is_key


@dataclass(frozen=True, slots=True)
class InstanceState:
    """What a restore would replace: the workers whose heartbeat is fresh (the instance runs)
    and how many downloads, accounts and library items its database holds (by their name)."""

    running: tuple[str, ...]
    holds: dict[str, int]

    @property
    def in_use(self) -> bool:
        return any(self.holds.values())


def database_kind(url: str) -> Kind:
    return "sqlite" if sqlite_path(make_url(url)) is not None else "postgresql"


def check_kind(manifest: Manifest, url: str, source: Path) -> None:
    """:class:`BackupError` when the backup ``source`` holds the other kind of database than
    the instance of ``url`` uses."""
    kind = database_kind(url)
    if manifest.database != kind:
        raise BackupError(
            f"{source} holds a {KIND_NAMES[manifest.database]} database, and this instance "
            f"uses {KIND_NAMES[kind]} (HAUL_DATABASE_URL): restore it into an instance on "
            f"{KIND_NAMES[manifest.database]}."
        )


# -- making one -------------------------------------------------------------------------------


def make_backup(target: Path, url: str, data_dir: Path, *, haul_version: str) -> Manifest:
    """Write a backup of the database at ``url`` and the key file of ``data_dir`` to
    ``target`` (replaced whole once it is complete). Works while haul runs."""
    kind = database_kind(url)
    key = KeyFile(data_dir / KEY_FILE_NAME).exported()
    target = target.expanduser().absolute()
    if not target.parent.is_dir():
        raise BackupError(f"There is no folder {target.parent} to write the backup into.")
    try:
        with _scratch(target.parent) as scratch:
            copy = scratch / MEMBERS[kind]
            if kind == "sqlite":
                revision = _copy_sqlite(_sqlite_file(url), copy)
            else:
                revision = _dump_postgres(url, copy)
            manifest = Manifest(
                database=kind,
                revision=revision,
                haul_version=haul_version,
                created_at=utcnow().isoformat(timespec="seconds"),
                has_key=key is not None,
            )
            draft = scratch / "backup.tar.gz"
            write_archive(draft, manifest, copy, key)
            draft.replace(target)
    except OSError as exc:
        raise BackupError(
            f"The backup cannot be written to {target}: {exc.strerror or exc}."
        ) from None
    return manifest


def _copy_sqlite(source: Path, copy: Path) -> str:
    if not source.is_file():
        raise BackupError(
            f"There is no database at {source} to back up (see HAUL_DATA_DIR and "
            "HAUL_DATABASE_URL)."
        )
    try:
        with (
            contextlib.closing(sqlite3.connect(source, timeout=30)) as live,
            contextlib.closing(sqlite3.connect(copy)) as into,
        ):
            live.backup(into)  # one step: a consistent snapshot, writers go on (WAL)
            into.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            return _sqlite_revision(into, source)
    except sqlite3.Error as exc:
        raise BackupError(f"The database {source} cannot be copied: {exc}.") from None


def _sqlite_revision(connection: sqlite3.Connection, source: Path) -> str:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        row = None
    if row is None or not isinstance(row[0], str):
        raise BackupError(f"{source} is not a haul database (it has no schema version).")
    return row[0]


def _dump_postgres(url: str, dump: Path) -> str:
    with _reading(url):
        revision = current_revision(url)
    if revision is None:
        raise BackupError("The PostgreSQL database of HAUL_DATABASE_URL holds no haul tables.")
    address, env = _libpq(url)
    _pg_tool(
        "pg_dump",
        ["--format=custom", "--no-owner", "--no-privileges", f"--file={dump}", address],
        env,
        by_hand=f"pg_dump --format=custom --file=haul.pgdump '{address}', and keep a copy of "
        f"the data folder's {KEY_FILE_NAME} with it",
    )
    return revision


# -- restoring one ----------------------------------------------------------------------------

#: The heartbeat a restore gives the workers the backup names: the processes that ran the
#: backed-up instance do not run this one, and a restore again at once must not take them
#: for a haul running here.
LONG_AGO = "1970-01-01 00:00:00.000000"  # UTC, as haul writes times into SQLite
#: The same on PostgreSQL, after the dump's script, which empties ``search_path``: back to the
#: one haul's tables were found on.
GONE_WORKERS_POSTGRES = (
    "RESET search_path; UPDATE workers SET heartbeat_at = '1970-01-01 00:00:00+00'"
)


@dataclass(frozen=True, slots=True)
class Restored:
    """What a restore did: the backup's manifest, and where the SQLite database it replaced
    was kept (None on PostgreSQL, or when there was none)."""

    manifest: Manifest
    kept: Path | None


def restore_backup(source: Path, url: str, data_dir: Path) -> Restored:
    """Put the database and key of the backup ``source`` in place of those of ``url`` and
    ``data_dir``. The instance must be stopped (see :func:`instance_state`)."""
    kind = database_kind(url)
    with open_archive(source) as archive:
        manifest = read_manifest(archive, source)
        check_kind(manifest, url, source)
        revisions, _ = known_revisions()
        if manifest.revision not in revisions:
            raise BackupError(
                f"{source} was made by a newer haul ({manifest.haul_version}, database "
                f"revision {manifest.revision}): restore it with that version or a newer one."
            )
        key = member(archive, KEY_FILE_NAME, source) if manifest.has_key else None
        if key is not None and not is_key(key.strip()):
            raise not_a_backup(source)
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            kept = None
            if kind == "sqlite":
                kept = _restore_sqlite(archive, source, _sqlite_file(url))
            else:
                with _scratch(data_dir) as scratch:
                    dump = scratch / MEMBERS[kind]
                    extract(archive, MEMBERS[kind], dump, source)
                    _restore_postgres(url, dump, scratch)
            if key is not None:
                KeyFile(data_dir / KEY_FILE_NAME).install(key)
        except OSError as exc:
            raise BackupError(
                f"The backup cannot be restored into {data_dir}: {exc.strerror or exc}."
            ) from None
    return Restored(manifest, kept)


def _restore_sqlite(archive: tarfile.TarFile, source: Path, target: Path) -> Path | None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with _scratch(target.parent) as scratch:
        copy = scratch / MEMBERS["sqlite"]
        extract(archive, MEMBERS["sqlite"], copy, source)
        with contextlib.closing(sqlite3.connect(copy)) as check:
            _sqlite_revision(check, source)
            with check:
                check.execute("UPDATE workers SET heartbeat_at = ?", (LONG_AGO,))
        return _replace_sqlite(copy, target)


def _replace_sqlite(copy: Path, target: Path) -> Path | None:
    """``copy`` becomes the database ``target``; the database it replaces is kept beside it
    as ``<name>.replaced-<UTC time>`` (returned), with its journal files (a write-ahead log
    holds writes not yet in the file; left beside the new file it would be applied to it)."""
    kept = None
    if target.exists():
        kept = target.with_name(f"{target.name}.replaced-{utcnow():%Y%m%dT%H%M%SZ}")
        target.replace(kept)
    for suffix in ("-wal", "-journal", "-shm"):
        journal = target.with_name(target.name + suffix)
        with contextlib.suppress(FileNotFoundError):
            if kept is not None and suffix != "-shm":
                journal.replace(kept.with_name(kept.name + suffix))
            else:
                journal.unlink()
    copy.chmod(0o600)  # as haul makes its database: it holds password hashes
    copy.replace(target)
    return kept


def _restore_postgres(url: str, dump: Path, scratch: Path) -> None:
    """Load ``dump`` into the database of ``url`` in one transaction that first drops every
    table of haul's schema there: tables a later migration made (which the dump knows
    nothing of, and whose foreign keys would hold the dump's tables) go too, so the next
    start migrates the restored database as it was backed up."""
    address, env = _libpq(url)
    env["PGOPTIONS"] = "-c client_min_messages=warning"
    script = scratch / "haul.sql"
    _pg_tool(
        "pg_restore",
        ["--clean", "--if-exists", "--no-owner", "--no-privileges", f"--file={script}", str(dump)],
        env,
        by_hand=_restore_by_hand(address),
    )
    drop = _dropping_tables(url)
    _pg_tool(
        "psql",
        [
            "--no-psqlrc",
            "--quiet",
            "--single-transaction",
            "--set=ON_ERROR_STOP=1",
            f"--dbname={address}",
            *([f"--command={drop}"] if drop else []),
            f"--file={script}",
            f"--command={GONE_WORKERS_POSTGRES}",
        ],
        env,
        by_hand=_restore_by_hand(address),
    )


def _restore_by_hand(address: str) -> str:
    return (
        f"tar -xzf BACKUP haul.pgdump {KEY_FILE_NAME}, drop every table of the database, "
        f"pg_restore --no-owner --dbname='{address}' haul.pgdump, and put {KEY_FILE_NAME} "
        "into the data folder"
    )


def _dropping_tables(url: str) -> str | None:
    """``DROP TABLE ... CASCADE`` of every table in the database's own schema (where haul's
    tables live, ``alembic_version`` included); None when it has none."""
    engine = create_engine(sync_url(url), poolclass=NullPool)
    try:
        with _reading(url), engine.connect() as connection:
            found = inspect(connection)
            schema = found.default_schema_name
            tables = found.get_table_names(schema=schema)
    finally:
        engine.dispose()
    if not tables:
        return None
    quote = engine.dialect.identifier_preparer
    names = ", ".join(f"{quote.quote_schema(schema or 'public')}.{quote.quote(t)}" for t in tables)
    return f"DROP TABLE IF EXISTS {names} CASCADE"


def instance_state(url: str, *, lease_ttl: float) -> InstanceState:
    """Whether the instance of ``url`` runs (a worker's heartbeat younger than ``lease_ttl``
    seconds) and what its database holds. A SQLite file that does not exist is not made."""
    path = sqlite_path(make_url(url))
    if path is not None and not path.exists():
        return InstanceState((), {})
    engine = create_engine(sync_url(url), poolclass=NullPool)
    try:
        with _reading(url), engine.connect() as connection:
            if not inspect(connection).has_table(Worker.__tablename__):
                return InstanceState((), {})
            cutoff = utcnow() - timedelta(seconds=lease_ttl)
            alive = connection.execute(
                select(Worker.hostname, Worker.pid).where(Worker.heartbeat_at >= cutoff)
            ).all()
            holds = {
                name: int(connection.scalar(select(func.count()).select_from(table)) or 0)
                for name, table in (
                    ("download", Download),
                    ("account", User),
                    ("library item", MediaItem),
                )
            }
    finally:
        engine.dispose()
    return InstanceState(tuple(f"process {pid} on {host}" for host, pid in alive), holds)


@contextlib.contextmanager
def _scratch(beside: Path) -> Iterator[Path]:
    """A private folder beside the final place (the same file system: a rename is atomic)."""
    beside.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".haul-backup-", dir=beside) as folder:
        yield Path(folder)


@contextlib.contextmanager
def _reading(url: str) -> Iterator[None]:
    """The database's own errors (unreachable, refused) as one sentence."""
    try:
        yield
    except SQLAlchemyError as exc:
        said = " ".join(str(getattr(exc, "orig", None) or exc).split())
        where = make_url(url).render_as_string(hide_password=True)
        raise BackupError(f"The database {where} cannot be read: {said}") from None


def _sqlite_file(url: str) -> Path:
    path = sqlite_path(make_url(url))
    if path is None:
        raise BackupError("An in-memory database cannot be backed up or restored.")
    return path.expanduser().absolute()


# -- PostgreSQL's own programs ----------------------------------------------------------------


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The database's address for PostgreSQL's programs, and their environment: the password
    travels in ``PGPASSWORD``, never on a command line that ``ps`` shows."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    address = parsed.set(drivername="postgresql", password=None)
    return address.render_as_string(hide_password=False), env


def _pg_tool(name: str, args: list[str], env: dict[str, str], *, by_hand: str) -> None:
    program = shutil.which(name)
    if program is None:
        raise BackupError(
            f"{name}, a program of PostgreSQL's client tools, is not installed here (on "
            "Debian: apt-get install postgresql-client, of the server's version or newer). "
            f"Install it and run this again, or do it yourself: {by_hand}."
        )
    done = subprocess.run([program, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        said = " ".join(done.stderr.split())[-1500:] or f"exit code {done.returncode}"
        raise BackupError(f"{name} failed: {said}")
