"""haul's SQLite database holds password hashes and the hashes of sessions and tokens: the
file haul makes, its write-ahead log, and a restored one are readable by haul's user only,
whatever the umask (a data folder other users can list, as a container's mounted one)."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

from sqlalchemy import text

from haul.store.engines import create_engine
from haul.store.migrate import upgrade


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_database_and_its_journal_are_private(tmp_path: Path) -> None:
    database = tmp_path / "data" / "haul.db"
    upgrade(f"sqlite:///{database}")
    assert mode(database) == 0o600

    async def write() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{database}")
        try:
            async with engine.begin() as connection:
                await connection.execute(text("CREATE TABLE notes (said TEXT)"))
                await connection.execute(text("INSERT INTO notes VALUES ('x')"))
                wal = database.with_name("haul.db-wal")
                assert wal.exists()
                assert mode(wal) == 0o600
        finally:
            await engine.dispose()

    asyncio.run(write())


def test_an_existing_database_keeps_its_mode(tmp_path: Path) -> None:
    database = tmp_path / "haul.db"
    upgrade(f"sqlite:///{database}")
    os.chmod(database, 0o640)  # chosen by its owner
    upgrade(f"sqlite:///{database}")
    asyncio.run(create_engine(f"sqlite+aiosqlite:///{database}").dispose())
    assert mode(database) == 0o640
