"""The logs page (administrators): downloads that failed for good and links nothing understood,
counted by domain and error code, filtered, a page at a time, and cleared of old entries by a
form that works without JavaScript."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from haul.errors import InvalidCursor
from haul.service.logs import LogService
from haul.web.api.logs import MAX_DAYS
from haul.web.deps import AdminDep, LogsDep, get_downloads
from haul.web.errors import INVALID_FORM
from haul.web.ui import csrf
from haul.web.ui.render import page

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
TOP = 12
LOGS = {"errors": "Failed downloads", "unsupported": "Unsupported links"}
DEFAULT_DAYS = 30


@dataclass(frozen=True, slots=True)
class LogFilters:
    """What the list shows: the query string of the logs page."""

    log: str = "errors"
    domain: str = ""
    code: str = ""
    q: str = ""

    @property
    def active(self) -> bool:
        return bool(self.domain or self.code or self.q)

    def query(self, **more: str) -> str:
        values = {"domain": self.domain, "code": self.code, "q": self.q}
        if self.log != "errors":
            values = {"log": self.log, **values}
        values.update(more)
        return urlencode({k: v for k, v in values.items() if v})

    def url(self, **more: str) -> str:
        query = self.query(**more)
        return f"/logs?{query}" if query else "/logs"


def _filters(log: str, domain: str, code: str, q: str) -> LogFilters:
    kind = log if log in LOGS else "errors"
    return LogFilters(
        log=kind,
        domain=domain.strip().lower()[:255],
        code=code.strip()[:64] if kind == "errors" else "",
        q=" ".join(q.split())[:200],
    )


@router.get("/logs", response_class=HTMLResponse)
async def logs_page(
    request: Request,
    logs: LogsDep,
    _admin: AdminDep,
    log: Annotated[str, Query(max_length=20)] = "errors",
    domain: Annotated[str, Query(max_length=500)] = "",
    code: Annotated[str, Query(max_length=200)] = "",
    q: Annotated[str, Query(max_length=500)] = "",
    cursor: Annotated[str, Query(max_length=32)] = "",
    cleared: Annotated[str, Query(max_length=12)] = "",
    days: Annotated[str, Query(max_length=12)] = "",
) -> HTMLResponse:
    filters = _filters(log, domain, code, q)
    done = None
    if cleared.isascii() and cleared.isdigit():
        known = days.isascii() and days.isdigit()
        done = {"removed": int(cleared), "days": int(days) if known else None}
    return await _render(request, logs, filters, cursor=cursor, cleared=done)


@router.post("/logs/clear", response_model=None)
async def clear(
    request: Request,
    logs: LogsDep,
    _admin: AdminDep,
    log: Annotated[str, Form(max_length=20)] = "errors",
    older_than_days: Annotated[str, Form(max_length=20)] = "",
    csrf_field: Annotated[str, Form(alias=csrf.FIELD)] = "",
) -> Response:
    """Remove the entries of one log older than some days, then show the log again."""
    csrf.check(request, csrf_field)
    filters = _filters(log, "", "", "")
    text = older_than_days.strip()
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_DAYS:
        problem = f"Give a whole number of days from 0 to {MAX_DAYS}, such as {DEFAULT_DAYS}."
        return await _render(
            request,
            logs,
            filters,
            days_text=older_than_days[:20],
            days_error=problem,
            status_code=INVALID_FORM,
        )
    days = int(text)
    if filters.log == "errors":
        removed = await logs.clear_errors(days)
    else:
        removed = await logs.clear_unsupported(days)
    return RedirectResponse(filters.url(cleared=str(removed), days=str(days)), status_code=303)


async def _render(
    request: Request,
    service: LogService,
    filters: LogFilters,
    *,
    cursor: str = "",
    cleared: dict[str, Any] | None = None,
    days_text: str = str(DEFAULT_DAYS),
    days_error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    summary = await service.summary(TOP)
    counts = summary.errors if filters.log == "errors" else summary.unsupported
    cursor_error = ""
    try:
        if filters.log == "errors":
            listing: Any = await service.errors(
                domain=filters.domain,
                code=filters.code,
                q_text=filters.q,
                limit=PAGE_SIZE,
                cursor=cursor or None,
            )
        else:
            listing = await service.unsupported(
                domain=filters.domain, q_text=filters.q, limit=PAGE_SIZE, cursor=cursor or None
            )
    except InvalidCursor:
        cursor_error = "That page link is broken: here is the first page."
        listing = await (
            service.errors(domain=filters.domain, code=filters.code, q_text=filters.q)
            if filters.log == "errors"
            else service.unsupported(domain=filters.domain, q_text=filters.q)
        )
        cursor = ""
    keys = [e.owner for e in listing.items if getattr(e, "owner", None)]
    owners = await get_downloads(request).tracker.names(keys) if keys else {}
    return page(
        request,
        "logs.html",
        status_code=status_code,
        nav="logs",
        logs=LOGS,
        filters=filters,
        summary=summary,
        counts=counts,
        items=listing.items,
        next_url=filters.url(cursor=listing.next_cursor) if listing.next_cursor else "",
        first_url=filters.url() if cursor else "",
        cleared=cleared,
        cursor_error=cursor_error,
        days_text=days_text,
        days_error=days_error,
        default_days=DEFAULT_DAYS,
        owners=owners,
    )
