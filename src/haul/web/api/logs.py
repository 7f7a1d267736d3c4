"""REST routes of the operator's logs (administrators only): downloads that failed for good,
links nothing understood, their counts by domain and code, and clearing them."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query

from haul.service.logs import DEFAULT_LIMIT, MAX_LIMIT, MAX_TOP, LogCounts
from haul.web.deps import AdminDep, LogsDep
from haul.web.schemas.errors import error_responses
from haul.web.schemas.logs import ClearedOut, ErrorLogPage, LogSummaryOut, UnsupportedPage

router = APIRouter(prefix="/logs", tags=["logs"])

ADMIN_ONLY = error_responses(403, described={403: "The caller is not an administrator"})
#: Keep clearing within reason: a century.
MAX_DAYS = 36_500


DomainQ = Annotated[
    str, Query(max_length=255, description="Only this domain (`magnet`, `iptv:N` too)")
]
TextQ = Annotated[str, Query(max_length=200, description="Words that must all appear, in any case")]
LimitQ = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Entries per page")]
CursorQ = Annotated[str, Query(max_length=32, description="`next_cursor` of the page before")]
DaysQ = Annotated[
    int | None,
    Query(
        ge=0,
        le=MAX_DAYS,
        description="Remove only entries older than this many days (default: all)",
    ),
]


@router.get("/errors", response_model=ErrorLogPage, responses=ADMIN_ONLY)
async def errors(
    logs: LogsDep,
    _admin: AdminDep,
    domain: DomainQ = "",
    code: Annotated[str, Query(max_length=64, description="Only this error code")] = "",
    q: TextQ = "",
    limit: LimitQ = DEFAULT_LIMIT,
    cursor: CursorQ = "",
) -> Any:
    """Downloads that failed for good, newest first."""
    page = await logs.errors(
        domain=domain, code=code.strip(), q_text=q, limit=limit, cursor=cursor.strip()
    )
    return {"items": [asdict(e) for e in page.items], "next_cursor": page.next_cursor}


@router.get("/unsupported", response_model=UnsupportedPage, responses=ADMIN_ONLY)
async def unsupported(
    logs: LogsDep,
    _admin: AdminDep,
    domain: DomainQ = "",
    q: TextQ = "",
    limit: LimitQ = DEFAULT_LIMIT,
    cursor: CursorQ = "",
) -> Any:
    """Links no extractor or engine understood, newest first."""
    page = await logs.unsupported(domain=domain, q_text=q, limit=limit, cursor=cursor.strip())
    return {"items": [asdict(e) for e in page.items], "next_cursor": page.next_cursor}


@router.get("/summary", response_model=LogSummaryOut, responses=ADMIN_ONLY)
async def summary(
    logs: LogsDep,
    _admin: AdminDep,
    top: Annotated[int, Query(ge=1, le=MAX_TOP, description="Domains and codes listed")] = 10,
) -> Any:
    """Both logs counted: in all, by domain and by error code."""
    counted = await logs.summary(top)
    return {"errors": _counts(counted.errors), "unsupported": _counts(counted.unsupported)}


@router.delete("/errors", response_model=ClearedOut, responses=ADMIN_ONLY)
async def clear_errors(logs: LogsDep, _admin: AdminDep, older_than_days: DaysQ = None) -> Any:
    """Remove error log entries: all, or those older than ``older_than_days``."""
    removed = await logs.clear_errors(older_than_days)
    return {"removed": removed, "older_than_days": older_than_days}


@router.delete("/unsupported", response_model=ClearedOut, responses=ADMIN_ONLY)
async def clear_unsupported(logs: LogsDep, _admin: AdminDep, older_than_days: DaysQ = None) -> Any:
    """Remove unsupported URL entries: all, or those older than ``older_than_days``."""
    removed = await logs.clear_unsupported(older_than_days)
    return {"removed": removed, "older_than_days": older_than_days}


def _counts(counts: LogCounts) -> dict[str, Any]:
    return {
        "total": counts.total,
        "by_domain": [{"domain": t.value, "count": t.count} for t in counts.by_domain],
        "domains": counts.domains,
        "other_domains": counts.other_domains,
        "by_code": [{"code": t.value, "count": t.count} for t in counts.by_code],
        "codes": counts.codes,
    }
