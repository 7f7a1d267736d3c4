"""The store on SQLite and on real PostgreSQL: migrations, atomic admission, fairness, leases."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from haul.core.admission import Limits
from haul.core.sources import parse_source
from haul.core.status import Phase
from haul.errors import DuplicateDownload, LimitExceeded
from haul.store import downloads as q
from haul.store.database import Database
from haul.store.engines import sync_url
from haul.store.jobs import Completion
from haul.store.migrate import MIGRATIONS_DIR, current_revision, head_revision, upgrade
from haul.store.models import Base, Download, DownloadEvent, Worker, utcnow
from haul.store.sql_completions import CompletionWriter

DEFAULT_LIMITS = Limits(10)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    await asyncio.to_thread(upgrade, database_url)
    database = Database(database_url, pool_size=20)
    try:
        yield database
    finally:
        await database.dispose()


async def submit(
    db: Database,
    url: str,
    owner: str = "local",
    *,
    policy: str = "queue",
    limits: Limits = DEFAULT_LIMITS,
) -> Download:
    async with db.write(admission=True) as s:
        return await q.submit(
            s, source=parse_source(url), owner_key=owner, limits=limits, policy=policy
        )


async def claim_ids(db: Database, worker_id: str, limit: int) -> list[int]:
    def claim(s: Session) -> list[int]:
        return [j.id for j in q.claim(s, worker_id, limit, skip_locked=not db.is_sqlite)]

    return await db.run(claim)


async def test_migrations_reach_head(empty_database_url: str) -> None:
    await asyncio.to_thread(upgrade, empty_database_url)
    assert await asyncio.to_thread(current_revision, empty_database_url) == head_revision()
    await asyncio.to_thread(upgrade, empty_database_url)  # idempotent


async def test_the_revisions_haul_reads_itself_are_alembics(empty_database_url: str) -> None:
    """haul reads the head from the migration files and the database's revision with one
    query, so that a server at the head never loads Alembic; Alembic must agree."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert head_revision() == ScriptDirectory.from_config(config).get_current_head()

    def alembics() -> str | None:
        engine = create_engine(sync_url(empty_database_url))
        try:
            with engine.connect() as connection:
                return MigrationContext.configure(connection).get_current_revision()
        finally:
            engine.dispose()

    assert await asyncio.to_thread(current_revision, empty_database_url) is None  # empty database
    await asyncio.to_thread(upgrade, empty_database_url, "0003")
    assert await asyncio.to_thread(current_revision, empty_database_url) == "0003"
    assert await asyncio.to_thread(alembics) == "0003"


def test_a_server_migrates_in_a_child_and_never_loads_alembic(empty_database_url: str) -> None:
    """``haul serve`` and ``haul worker`` migrate in a forked child: Alembic would cost the
    server about 8 MiB for good. Run in a fresh interpreter, since this one holds Alembic."""
    script = (
        "import sys; from haul.store.migrate import upgrade_in_child, current_revision; "
        "upgrade_in_child(sys.argv[1]); upgrade_in_child(sys.argv[1]); "
        "print(current_revision(sys.argv[1]), 'alembic' in sys.modules)"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, empty_database_url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == [head_revision(), "False"]


async def test_migration_0008_keeps_the_oldest_of_two_defaults(empty_database_url: str) -> None:
    await asyncio.to_thread(upgrade, empty_database_url, "0007")
    engine = create_engine(sync_url(empty_database_url))
    try:
        with engine.begin() as connection:
            for name in ("old", "new", "plain"):
                connection.execute(
                    text(
                        "INSERT INTO profiles (name, subtitles, is_default, created_at, updated_at)"
                        " VALUES (:name, '[]', :default, :now, :now)"
                    ),
                    {"name": name, "default": name != "plain", "now": utcnow()},
                )
        await asyncio.to_thread(upgrade, empty_database_url)
        with engine.connect() as connection:
            defaults = connection.execute(text("SELECT name FROM profiles WHERE is_default"))
            assert [row.name for row in defaults] == ["old"]
    finally:
        engine.dispose()


async def test_sqlite_runs_with_wal_and_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'haul.db'}"
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    async with db.read() as s:
        assert (await s.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await s.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (await s.execute(text("PRAGMA synchronous"))).scalar() == 1  # NORMAL
        assert (await s.execute(text("PRAGMA busy_timeout"))).scalar() == 30000
    await db.dispose()


async def test_fifty_concurrent_submits_under_limit_one_admit_exactly_one(db: Database) -> None:
    results = await asyncio.gather(
        *(
            submit(db, f"http://example.com/{n}", policy="reject", limits=Limits(10, per_owner=1))
            for n in range(50)
        ),
        return_exceptions=True,
    )
    admitted = [r for r in results if isinstance(r, Download)]
    refused = [r for r in results if isinstance(r, LimitExceeded)]
    assert len(admitted) == 1 and len(refused) == 49
    assert "your limit is 1" in refused[0].message
    async with db.read() as s:
        assert await s.scalar(select(func.count()).select_from(Download)) == 1


async def test_duplicate_source_is_refused_with_the_existing_id(db: Database) -> None:
    first = await submit(db, "http://example.com/film.mkv")
    with pytest.raises(DuplicateDownload) as info:
        await submit(db, "HTTP://EXAMPLE.com/film.mkv")
    assert info.value.existing_id == first.id
    other_owner = await submit(db, "http://example.com/film.mkv", owner="someone-else")
    assert other_owner.id != first.id


async def test_admission_is_fair_across_owners(db: Database) -> None:
    for n in range(30):
        await submit(db, f"http://example.com/bulk/{n}", owner="bulk")
    single = await submit(db, "http://example.com/one", owner="single")
    admitted = await db.run(lambda s: q.admit_waiting(s, Limits(global_active=3)), admission=True)
    assert len(admitted) == 3
    assert single.id in admitted


async def test_admission_respects_per_owner_limit(db: Database) -> None:
    for n in range(5):
        await submit(db, f"http://example.com/a/{n}", owner="a")
    for n in range(5):
        await submit(db, f"http://example.com/b/{n}", owner="b")
    limits = Limits(global_active=10, per_owner=2)
    admitted = await db.run(lambda s: q.admit_waiting(s, limits), admission=True)
    async with db.read() as s:
        rows = (
            await s.execute(
                select(Download.owner_key, func.count())
                .where(Download.id.in_(admitted))
                .group_by(Download.owner_key)
            )
        ).all()
    assert dict(rows) == {"a": 2, "b": 2}


async def test_claims_never_hand_a_job_to_two_workers(db: Database) -> None:
    for n in range(20):
        await submit(db, f"http://example.com/{n}", policy="reject", limits=Limits(100))
    workers = [str(uuid.uuid4()) for _ in range(4)]
    async with db.write() as s:
        for w in workers:
            s.add(Worker(id=w, hostname="h", pid=1))

    async def claim(worker_id: str) -> list[int]:
        return await claim_ids(db, worker_id, 7)

    claimed = await asyncio.gather(*(claim(w) for w in workers))
    flat = [i for ids in claimed for i in ids]
    assert len(flat) == len(set(flat)) == 20


async def test_reaping_a_dead_worker_returns_its_jobs(db: Database) -> None:
    job = await submit(db, "http://example.com/x", policy="reject")
    async with db.write() as s:
        s.add(Worker(id="dead", hostname="h", pid=1, heartbeat_at=utcnow() - timedelta(hours=1)))
    assert await claim_ids(db, "dead", 5) == [job.id]
    async with db.write() as s:
        assert await q.reap_workers(s, ["dead"]) == 1
    async with db.write() as s:
        s.add(Worker(id="alive", hostname="h", pid=2))
    assert await claim_ids(db, "alive", 5) == [job.id]


async def test_deleting_a_download_deletes_its_history(db: Database) -> None:
    row = await submit(db, "http://example.com/y")
    async with db.write() as s:
        await s.delete(await s.get(Download, row.id))
    async with db.read() as s:
        left = await s.scalar(
            select(func.count())
            .select_from(DownloadEvent)
            .where(DownloadEvent.download_id == row.id)
        )
    assert left == 0


async def test_a_nul_from_the_network_does_not_fail_the_completion(db: Database) -> None:
    """A title, a file name and an error message that came from a remote server with a NUL
    character in them: the worker's completion write goes through on both databases (text
    loses the NUL; JSON keeps it, escaped)."""
    row = await submit(db, "http://example.com/nul")
    async with db.write() as s:
        running = await s.get(Download, row.id)
        assert running is not None
        running.phase = Phase.ACTIVE.value  # its job ran: a completion finishes an active one
    title, name = "Part\x001", "a\x00b.mp4"
    writer = CompletionWriter(db, "w1")
    await writer.record(
        Completion(row.id, [{"path": name}], title, {"said": name}, utcnow(), records=[])
    )
    async with db.write() as s:
        s.add(DownloadEvent(download_id=row.id, kind="failed", message="bad\x00 answer", data={}))
    async with db.read() as s:
        stored = await s.get(Download, row.id)
        assert stored is not None
        assert (stored.title, stored.phase) == ("Part1", "completed")
        assert stored.files == [{"path": name}] and stored.meta == {"said": name}
        said = await s.scalar(select(DownloadEvent.message).where(DownloadEvent.kind == "failed"))
        assert said == "bad answer"


async def test_migrations_match_the_models(db: Database, database_url: str) -> None:
    """A model changed without a migration (or the reverse) fails here, on both databases."""

    def differences() -> list[object]:
        engine = create_engine(sync_url(database_url))
        try:
            with engine.connect() as connection:
                return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))
        finally:
            engine.dispose()

    assert await asyncio.to_thread(differences) == []


async def test_migration_0009_keeps_rows_and_ids_and_never_gives_an_id_twice(
    empty_database_url: str,
) -> None:
    """Before 0009 SQLite gave a deleted user's id to the next account (and with it the
    deleted user's downloads); after it, on both databases, the rows and their ids stay and
    a deleted id is never given again."""
    await asyncio.to_thread(upgrade, empty_database_url, "0008")
    engine = create_engine(sync_url(empty_database_url))
    now = utcnow()
    try:
        with engine.begin() as connection:
            for name in ("ann", "bob", "cy"):
                connection.execute(
                    text(
                        "INSERT INTO users (username, role, disabled, created_at)"
                        " VALUES (:name, 'user', false, :now)"
                    ),
                    {"name": name, "now": now},
                )
            bob = connection.execute(text("SELECT id FROM users WHERE username = 'bob'")).scalar()
            connection.execute(
                text(
                    "INSERT INTO downloads (owner_key, user_id, source_url, dedupe_key, priority,"
                    " desired_paused, cancel_delete_partial, hidden, phase, queue_rank,"
                    " retry_attempt, created_at, meta, files) VALUES (:owner, :user,"
                    " 'https://example.org/a', 'k', 0, false, false, false, 'completed', 0, 0,"
                    " :now, '{}', '[]')"
                ),
                {"owner": f"user:{bob}", "user": bob, "now": now},
            )
            download = connection.execute(text("SELECT max(id) FROM downloads")).scalar()
            connection.execute(
                text(
                    "INSERT INTO download_events (download_id, at, kind, data)"
                    " VALUES (:id, :now, 'completed', '{}')"
                ),
                {"id": download, "now": now},
            )
        await asyncio.to_thread(upgrade, empty_database_url)
        with engine.begin() as connection:
            users = connection.execute(text("SELECT username, id FROM users ORDER BY id")).all()
            assert [u.username for u in users] == ["ann", "bob", "cy"]
            assert users[1].id == bob
            kept = connection.execute(text("SELECT user_id FROM downloads")).scalar()
            assert kept == bob
            events = connection.execute(text("SELECT count(*) FROM download_events")).scalar()
            assert events == 1
            last = users[-1].id
            connection.execute(text("DELETE FROM users WHERE id = :id"), {"id": last})
            connection.execute(text("DELETE FROM downloads WHERE id = :id"), {"id": download})
            connection.execute(
                text(
                    "INSERT INTO users (username, role, disabled, created_at)"
                    " VALUES ('dee', 'user', false, :now)"
                ),
                {"now": now},
            )
            dee = connection.execute(text("SELECT id FROM users WHERE username = 'dee'")).scalar()
            assert dee > last
    finally:
        engine.dispose()


async def test_migration_0009_skips_the_ids_of_accounts_deleted_before_it(
    empty_database_url: str,
) -> None:
    """An account deleted before 0009 (the newest) left its downloads under ``user:<id>``;
    the next account must not get that id and with it those downloads."""
    await asyncio.to_thread(upgrade, empty_database_url, "0008")
    engine = create_engine(sync_url(empty_database_url))
    now = utcnow()
    try:
        with engine.begin() as connection:
            for name in ("ann", "bob"):
                connection.execute(
                    text(
                        "INSERT INTO users (username, role, disabled, created_at)"
                        " VALUES (:name, 'user', false, :now)"
                    ),
                    {"name": name, "now": now},
                )
            bob = connection.execute(text("SELECT id FROM users WHERE username = 'bob'")).scalar()
            connection.execute(
                text(
                    "INSERT INTO downloads (owner_key, source_url, dedupe_key, priority,"
                    " desired_paused, cancel_delete_partial, hidden, phase, queue_rank,"
                    " retry_attempt, created_at, meta, files) VALUES (:owner,"
                    " 'https://example.org/a', 'k', 0, false, false, false, 'completed', 0, 0,"
                    " :now, '{}', '[]')"
                ),
                {"owner": f"user:{bob}", "now": now},
            )
            connection.execute(text("DELETE FROM users WHERE id = :id"), {"id": bob})
        await asyncio.to_thread(upgrade, empty_database_url)
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO users (username, role, disabled, created_at)"
                    " VALUES ('dee', 'user', false, :now)"
                ),
                {"now": now},
            )
            dee = connection.execute(text("SELECT id FROM users WHERE username = 'dee'")).scalar()
            assert dee > bob
    finally:
        engine.dispose()


async def test_new_databases_never_give_an_id_twice(db: Database) -> None:
    """Every table with an integer key, on a database made from the migrations: the newest
    row deleted, the next one gets a new id."""
    tables = [
        t for t in Base.metadata.sorted_tables if next(iter(t.primary_key)).type.python_type is int
    ]
    assert {t.name for t in tables} >= {"users", "downloads", "iptv_providers", "api_tokens"}
    for table in tables:
        assert table.kwargs.get("sqlite_autoincrement") is True, table.name
    async with db.write() as s:
        first = await q.submit(
            s,
            source=parse_source("https://example.org/x"),
            owner_key="local",
            limits=DEFAULT_LIMITS,
            policy="queue",
        )
    async with db.write() as s:
        await s.execute(text("DELETE FROM downloads WHERE id = :id"), {"id": first.id})
    second = await submit(db, "https://example.org/y")
    assert second.id > first.id
    if db.is_sqlite:
        async with db.read() as s:
            for table in tables:
                sql = await s.scalar(
                    text("SELECT sql FROM sqlite_master WHERE name = :name"), {"name": table.name}
                )
                assert "AUTOINCREMENT" in str(sql), table.name


async def test_migration_0012_gives_unfinished_downloads_their_site(
    empty_database_url: str,
) -> None:
    await asyncio.to_thread(upgrade, empty_database_url, "0011")
    engine = create_engine(sync_url(empty_database_url))
    try:
        with engine.begin() as connection:
            for n, (url, phase) in enumerate(
                [
                    ("https://WWW.Example.COM/a", "queued"),
                    ("https://example.org/b", "completed"),
                    ("magnet:?xt=urn:btih:abc", "active"),
                ]
            ):
                connection.execute(
                    text(
                        "INSERT INTO downloads (owner_key, source_url, dedupe_key, phase,"
                        " queue_rank, priority, desired_paused, cancel_delete_partial, hidden,"
                        " retry_attempt, created_at, meta, files)"
                        " VALUES ('local', :url, :key, :phase, 0, 0, false, false, false, 0,"
                        " :now, '{}', '[]')"
                    ),
                    {"url": url, "key": f"k{n}", "phase": phase, "now": utcnow()},
                )
        await asyncio.to_thread(upgrade, empty_database_url)
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT source_url, site FROM downloads ORDER BY id"))
            assert [row.site for row in rows] == ["www.example.com", None, None]
    finally:
        engine.dispose()
