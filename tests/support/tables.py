"""Every table of a test's database: row counts (to show a refused request stored nothing)
and every text value (to show a secret is kept in one column only)."""

from __future__ import annotations

import json

from sqlalchemy import String, Text, column, func, inspect, select, table
from sqlalchemy.orm import Session
from sqlalchemy.types import JSON

from tests.conftest import App

#: Tables whose rows change on their own while an app runs (a worker's heartbeat).
MOVING = frozenset({"alembic_version", "workers"})


def _tables(s: Session) -> list[str]:
    return sorted(inspect(s.connection()).get_table_names())


async def row_counts(app: App) -> dict[str, int]:
    """Rows in each table of the app's database (those that move by themselves left out)."""

    def count(s: Session) -> dict[str, int]:
        return {
            name: int(s.execute(select(func.count()).select_from(table(name))).scalar_one())
            for name in _tables(s)
            if name not in MOVING
        }

    return dict(await app.runtime.db.query(count))


async def text_cells(app: App) -> list[tuple[str, str, str]]:
    """Every text and JSON value in the database as ``(table, column, text)``."""

    def read(s: Session) -> list[tuple[str, str, str]]:
        found: list[tuple[str, str, str]] = []
        inspector = inspect(s.connection())
        for name in _tables(s):
            columns = [
                c["name"]
                for c in inspector.get_columns(name)
                if isinstance(c["type"], String | Text | JSON)
                or c["type"].__class__.__name__.upper() in ("JSONB", "JSON", "TEXT", "VARCHAR")
            ]
            if not columns:
                continue
            query = select(*(column(c) for c in columns)).select_from(table(name))
            for row in s.execute(query).all():
                for col, value in zip(columns, row, strict=True):
                    if value is None:
                        continue
                    text = value if isinstance(value, str) else json.dumps(value)
                    found.append((name, col, text))
        return found

    return list(await app.runtime.db.query(read))
