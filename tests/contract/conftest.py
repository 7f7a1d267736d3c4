"""One job store behaviour, three places: in memory, SQLite and real PostgreSQL.

Each test gets a :class:`Harness`: the store under test, and a way to put downloads in and to
read what became of them that does not go through the store's own operations."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest
from sqlalchemy import select

from haul.store.database import Database
from haul.store.jobs import HandoffStore, JobStore
from haul.store.memory import MemoryJobStore
from haul.store.memory_handoffs import MemoryHandoffStore
from haul.store.memory_processing import MemoryProcessingStore
from haul.store.migrate import upgrade
from haul.store.models import Download, DownloadEvent, MediaFile
from haul.store.processing import ProcessingStore
from haul.store.sql_handoffs import SqlHandoffStore
from haul.store.sql_jobs import SqlJobStore
from haul.store.sql_processing import SqlProcessingStore
from tests.support.pg import fresh_database


class Harness(Protocol):
    store: JobStore

    @property
    def handoffs(self) -> HandoffStore: ...

    @property
    def processing(self) -> ProcessingStore: ...

    async def media_files(self, download_id: int) -> list[str]: ...

    async def add(self, owner_key: str, **fields: Any) -> int: ...

    async def get(self, download_id: int, name: str) -> Any: ...

    async def set(self, download_id: int, **fields: Any) -> None: ...

    async def history(self, download_id: int) -> list[str]: ...


@dataclass
class MemoryHarness:
    store: MemoryJobStore

    @property
    def handoffs(self) -> HandoffStore:
        return MemoryHandoffStore(self.store)

    @property
    def processing(self) -> ProcessingStore:
        return MemoryProcessingStore(self.store)

    async def media_files(self, download_id: int) -> list[str]:
        return [r["file_name"] for i, r in self.store.state.media_files if i == download_id]

    async def add(self, owner_key: str, **fields: Any) -> int:
        return self.store.state.add(owner_key, **fields).id

    async def get(self, download_id: int, name: str) -> Any:
        return getattr(self.store.state.jobs[download_id], name)

    async def set(self, download_id: int, **fields: Any) -> None:
        job = self.store.state.jobs[download_id]
        for key, value in fields.items():
            setattr(job, key, value)

    async def history(self, download_id: int) -> list[str]:
        return self.store.state.history(download_id)


@dataclass
class SqlHarness:
    store: SqlJobStore
    db: Database
    count: int = 0

    @property
    def handoffs(self) -> HandoffStore:
        return SqlHandoffStore(self.db)

    @property
    def processing(self) -> ProcessingStore:
        return SqlProcessingStore(self.db)

    async def media_files(self, download_id: int) -> list[str]:
        async with self.db.read() as s:
            query = (
                select(MediaFile.file_name)
                .where(MediaFile.download_id == download_id)
                .order_by(MediaFile.id)
            )
            return list((await s.scalars(query)).all())

    async def add(self, owner_key: str, **fields: Any) -> int:
        self.count += 1
        async with self.db.write() as s:
            row = Download(
                owner_key=owner_key,
                source_url=fields.pop("source_url", f"https://example.invalid/{self.count}"),
                dedupe_key=f"key-{self.count}",
                meta=fields.pop("meta", {}),
                files=fields.pop("files", []),
                **fields,
            )
            s.add(row)
            await s.flush()
            return row.id

    async def get(self, download_id: int, name: str) -> Any:
        async with self.db.read() as s:
            return await s.scalar(select(getattr(Download, name)).where(Download.id == download_id))

    async def set(self, download_id: int, **fields: Any) -> None:
        async with self.db.write() as s:
            row = await s.get(Download, download_id)
            assert row is not None
            for key, value in fields.items():
                setattr(row, key, value)

    async def history(self, download_id: int) -> list[str]:
        async with self.db.read() as s:
            query = (
                select(DownloadEvent.kind)
                .where(DownloadEvent.download_id == download_id)
                .order_by(DownloadEvent.id)
            )
            return list((await s.scalars(query)).all())


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    """None for the in-memory store, else a database already migrated (a copy of the test
    process's template: see ``database_url``)."""
    if request.param == "memory":
        yield None
    elif request.param == "sqlite":
        path = tmp_path / "haul.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
    else:
        server, template = (request.getfixturevalue(f) for f in ("pg_server", "pg_template"))
        with fresh_database(server, template) as url:
            yield url


@pytest.fixture
async def harness(store_url: str | None) -> AsyncIterator[Harness]:
    if store_url is None:
        yield MemoryHarness(MemoryJobStore())
        return
    await asyncio.to_thread(upgrade, store_url)
    db = Database(store_url)
    try:
        yield SqlHarness(SqlJobStore(db), db)
    finally:
        await db.dispose()
