"""The operator's logs: downloads that failed for good (``error_log``) and sources nothing
understood (``unsupported_urls``), written by the engine when a job ends
(:mod:`haul.worker.outcomes`).

Administrators read them a page at a time, newest first, filtered by domain, error code and
words of the message; see which domains and codes fail most; and clear them, all or what is
older than some days. What is shown passes through :func:`haul.iptv.redact.redact_url` once
more: an IPTV stream URL is already scrubbed before it is logged, and a link someone pasted
with a password in it (``https://user:pass@host/``) is masked here too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, Protocol, TypeVar

from haul.iptv.redact import redact_url
from haul.service.listing import cursor_id
from haul.store import logs as q
from haul.store.database import Database
from haul.store.models import ErrorLog, UnsupportedUrl, utcnow


class _Entry(Protocol):
    @property
    def id(self) -> int: ...


T = TypeVar("T", bound=_Entry)

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
DEFAULT_TOP = 10
MAX_TOP = 100
#: Words of a text filter taken into account (each must appear).
MAX_WORDS = 8


@dataclass(frozen=True, slots=True)
class ErrorEntry:
    """A download that failed for good, as the error log keeps it."""

    id: int
    download_id: int | None
    #: The download can still be opened (it was neither deleted nor removed from view).
    download_exists: bool
    title: str | None
    url: str | None
    domain: str | None
    code: str
    message: str
    format: str | None
    media_type: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class UnsupportedEntry:
    id: int
    url: str
    domain: str
    error: str
    owner: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class LogPage(Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class Tally:
    """How many entries share a value (a domain or an error code)."""

    value: str | None
    count: int


@dataclass(frozen=True, slots=True)
class LogCounts:
    total: int
    #: The most frequent domains, most first; ``domains`` is how many there are in all.
    by_domain: list[Tally]
    domains: int
    by_code: list[Tally]
    codes: int

    @property
    def other_domains(self) -> int:
        """Entries of the domains beyond the top ones."""
        return self.total - sum(t.count for t in self.by_domain)


@dataclass(frozen=True, slots=True)
class LogSummary:
    errors: LogCounts
    unsupported: LogCounts


def words_of(text: str | None) -> list[str]:
    return (text or "").split()[:MAX_WORDS]


def below(cursor: str | None) -> int | None:
    """The id a page continues below; a cursor is the last id of the page before."""
    if not cursor:
        return None
    return cursor_id(cursor)


def _clean(text: str | None) -> str | None:
    return None if text is None else redact_url(text)


class LogService:
    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    async def errors(
        self,
        *,
        domain: str | None = None,
        code: str | None = None,
        q_text: str | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> LogPage[ErrorEntry]:
        where = q.error_conditions(
            _domain(domain), code or None, words_of(q_text), sqlite=self.db.is_sqlite
        )
        async with self.db.read() as s:
            rows = await q.error_page(s, where, below=below(cursor), limit=_limit(limit) + 1)
        items = [
            ErrorEntry(
                id=r.id,
                download_id=r.download_id,
                download_exists=r.found_id is not None and not r.hidden,
                title=r.title if r.found_id is not None else None,
                url=_clean(r.source_url),
                domain=r.domain,
                code=r.error_code,
                message=redact_url(r.message),
                format=r.format,
                media_type=r.media_type,
                created_at=r.created_at,
            )
            for r in rows
        ]
        return _page(items, _limit(limit))

    async def unsupported(
        self,
        *,
        domain: str | None = None,
        q_text: str | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> LogPage[UnsupportedEntry]:
        where = q.unsupported_conditions(
            _domain(domain), words_of(q_text), sqlite=self.db.is_sqlite
        )
        async with self.db.read() as s:
            rows = await q.unsupported_page(s, where, below=below(cursor), limit=_limit(limit) + 1)
        items = [
            UnsupportedEntry(
                id=r.id,
                url=redact_url(r.url),
                domain=r.domain,
                error=redact_url(r.error),
                owner=r.owner_key,
                created_at=r.created_at,
            )
            for r in rows
        ]
        return _page(items, _limit(limit))

    async def summary(self, top: int = DEFAULT_TOP) -> LogSummary:
        """Counts of both logs: in all, by domain and by error code (the top ``top`` of each).
        Every unsupported URL has the one code ``unsupported_url``."""
        top = max(1, min(top, MAX_TOP))
        async with self.db.read() as s:
            by_domain = await q.top(s, ErrorLog.domain, top)
            by_code = await q.top(s, ErrorLog.error_code, top)
            elsewhere = await q.top(s, UnsupportedUrl.domain, top)
        errors = LogCounts(
            total=by_domain.total,
            by_domain=_tallies(by_domain.rows),
            domains=by_domain.distinct,
            by_code=_tallies(by_code.rows),
            codes=by_code.distinct,
        )
        unsupported = LogCounts(
            total=elsewhere.total,
            by_domain=_tallies(elsewhere.rows),
            domains=elsewhere.distinct,
            by_code=[Tally("unsupported_url", elsewhere.total)] if elsewhere.total else [],
            codes=1 if elsewhere.total else 0,
        )
        return LogSummary(errors, unsupported)

    async def clear_errors(self, older_than_days: float | None = None) -> int:
        """Remove the error log's entries (those older than the days given); how many."""
        return await self._clear(ErrorLog, older_than_days)

    async def clear_unsupported(self, older_than_days: float | None = None) -> int:
        return await self._clear(UnsupportedUrl, older_than_days)

    async def _clear(self, table: q.Table, older_than_days: float | None) -> int:
        before = None
        if older_than_days is not None:
            before = self.clock() - timedelta(days=older_than_days)
        removed = 0
        while True:
            async with self.db.write() as s:
                done = await q.clear_batch(s, table, before)
            removed += done
            if done < q.CLEAR_BATCH:
                log.info("cleared %d entries of %s", removed, table.__tablename__)
                return removed


def _domain(domain: str | None) -> str | None:
    return domain.strip().lower() or None if domain else None


def _limit(limit: int) -> int:
    return max(1, min(limit, MAX_LIMIT))


def _page(items: list[T], limit: int) -> LogPage[T]:
    if len(items) > limit:
        items = items[:limit]
        return LogPage(items, str(items[-1].id))
    return LogPage(items, None)


def _tallies(rows: list[tuple[str | None, int]]) -> list[Tally]:
    return [Tally(value, count) for value, count in rows]
