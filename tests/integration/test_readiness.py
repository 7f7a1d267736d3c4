"""/api/v1/readyz proves that the database takes writes, on SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from tests.conftest import App
from tests.support.wait import await_for


@contextlib.contextmanager
def sqlite_read_only(database: Path) -> Iterator[None]:
    """New connections to the SQLite file ``database`` can read it but no longer write (its
    shared-memory file is left alone: SQLite maps it). Root ignores file modes, so as root the
    files are made immutable instead."""
    files = [p for p in (database, database.with_name(database.name + "-wal")) if p.exists()]
    as_root = os.geteuid() == 0
    for path in files:
        if as_root:
            subprocess.run(["chattr", "+i", str(path)], check=True)
        else:
            path.chmod(0o444)
    try:
        yield
    finally:
        for path in files:
            if as_root:
                subprocess.run(["chattr", "-i", str(path)], check=True)
            else:
                path.chmod(0o644)


@contextlib.contextmanager
def postgres_read_only(url: str) -> Iterator[None]:
    """New sessions of the database at ``url`` run read-only transactions (as on a standby,
    or on a server an operator set read-only)."""
    parsed = make_url(url)
    name = parsed.database
    maintenance = parsed.set(drivername="postgresql", database="postgres")
    dsn = maintenance.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    try:
        yield
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')


async def test_readyz_answers_503_while_the_database_refuses_writes(
    app: App, database_url: str
) -> None:
    ready = await app.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["database"] == "writable"

    if database_url.startswith("sqlite"):
        path = make_url(database_url).database
        assert path is not None
        refusing = sqlite_read_only(Path(path))
        reason = "readonly database"
    else:
        refusing = postgres_read_only(database_url)
        reason = "read-only transaction"

    async def answers(status: int) -> Any:
        """The answer of /readyz once it is ``status`` (one check serves a second of callers,
        so a change shows within a second or two)."""
        answer = await app.get("/readyz")
        return answer if answer.status_code == status else None

    with refusing:
        refused = await await_for(lambda: answers(503), 5, what="/readyz to say 503")
        detail = refused.json()["detail"]
        assert detail.startswith("The database refuses writes:"), detail
        assert reason in detail, detail

    await await_for(lambda: answers(200), 5, what="/readyz to say 200 again")
