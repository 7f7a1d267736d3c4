"""Named queries of the operator's logs: ``error_log`` (downloads that failed for good) and
``unsupported_urls`` (sources nothing understood).

Pages go newest first by id (ids grow with time) and continue below a cursor id, so a page
costs the same on the first and on the thousandth screen. Counts group by an indexed column
and return only the top rows. Clearing deletes a batch at a time, oldest first, so a writer
waiting on SQLite's one write lock never waits for a whole table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from haul.store.models import Download, ErrorLog, UnsupportedUrl
from haul.store.search import contains_all

#: Rows deleted per statement when a log is cleared.
CLEAR_BATCH = 5000

Table = type[ErrorLog] | type[UnsupportedUrl]

#: An error log entry with its download's title, source and whether it can still be opened.
ERROR_COLUMNS: tuple[Any, ...] = (
    ErrorLog.id,
    ErrorLog.download_id,
    ErrorLog.domain,
    ErrorLog.error_code,
    ErrorLog.message,
    ErrorLog.format,
    ErrorLog.media_type,
    ErrorLog.created_at,
    Download.id.label("found_id"),
    Download.hidden,
    Download.title,
    Download.source_url,
)


def error_conditions(
    domain: str | None, code: str | None, words: Sequence[str], *, sqlite: bool
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if domain:
        where.append(ErrorLog.domain == domain)
    if code:
        where.append(ErrorLog.error_code == code)
    where += contains_all([ErrorLog.message], words, sqlite=sqlite)
    return where


def unsupported_conditions(
    domain: str | None, words: Sequence[str], *, sqlite: bool
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if domain:
        where.append(UnsupportedUrl.domain == domain)
    where += contains_all([UnsupportedUrl.url, UnsupportedUrl.error], words, sqlite=sqlite)
    return where


async def error_page(
    s: AsyncSession, where: list[ColumnElement[bool]], *, below: int | None, limit: int
) -> Sequence[Row[Any]]:
    """Up to ``limit`` entries newest first (below the id ``below``), each with its download's
    title, source and whether the download can still be opened."""
    query = (
        select(*ERROR_COLUMNS)
        .outerjoin(Download, Download.id == ErrorLog.download_id)
        .where(*where)
        .order_by(ErrorLog.id.desc())
        .limit(limit)
    )
    if below is not None:
        query = query.where(ErrorLog.id < below)
    return (await s.execute(query)).all()


async def unsupported_page(
    s: AsyncSession, where: list[ColumnElement[bool]], *, below: int | None, limit: int
) -> Sequence[UnsupportedUrl]:
    query = select(UnsupportedUrl).where(*where).order_by(UnsupportedUrl.id.desc()).limit(limit)
    if below is not None:
        query = query.where(UnsupportedUrl.id < below)
    return (await s.scalars(query)).all()


@dataclass(frozen=True, slots=True)
class Top:
    """The most frequent values of a column, most first, with how many distinct values and
    rows there are in all."""

    rows: list[tuple[str | None, int]]
    distinct: int
    total: int


async def top(s: AsyncSession, column: Any, limit: int) -> Top:
    """The ``limit`` most frequent values of an indexed ``column`` (ties alphabetically), in
    one pass over its index: the window sums see every group before the limit applies."""
    groups = select(column.label("value"), func.count().label("n")).group_by(column).subquery()
    query = (
        select(
            groups.c.value,
            groups.c.n,
            func.count().over().label("groups"),
            func.sum(groups.c.n).over().label("total"),
        )
        .order_by(groups.c.n.desc(), groups.c.value)
        .limit(limit)
    )
    rows = (await s.execute(query)).all()
    if not rows:
        return Top([], 0, 0)
    return Top([(r.value, int(r.n)) for r in rows], int(rows[0].groups), int(rows[0].total))


async def clear_batch(s: AsyncSession, table: Table, before: datetime | None) -> int:
    """Delete up to :data:`CLEAR_BATCH` of the oldest entries made before ``before`` (all
    when None); how many went."""
    old = [table.created_at < before] if before is not None else []
    batch = select(table.id).where(*old).order_by(table.id).limit(CLEAR_BATCH).subquery()
    last = await s.scalar(select(func.max(batch.c.id)))
    if last is None:
        return 0
    # The batch is exactly the matching rows up to its last id (a clock that went back
    # between two workers cannot make this take a newer entry).
    done = await s.execute(delete(table).where(table.id <= last, *old))
    return int(getattr(done, "rowcount", 0) or 0)
