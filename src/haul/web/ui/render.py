"""The pages' template environment: Jinja2 with the filters the pages format values with."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse

from haul import __version__
from haul.core.bandwidth import rate_input
from haul.core.units import size_text
from haul.web.ui.csrf import csrf_token, remember
from haul.web.ui.identity import who

if TYPE_CHECKING:
    from jinja2 import Environment

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

#: Statuses of a download still on its way (the page shows its bar and controls).
LIVE_STATUSES = frozenset({"queued", "resolving", "downloading", "paused", "checking"})
FINAL_STATUSES = frozenset({"completed", "failed", "canceled"})


def human_size(n: float | None) -> str:
    return "" if n is None else size_text(n)


def human_speed(n: float | None) -> str:
    return f"{human_size(n)}/s" if n else ""


def human_duration(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return ""
    s = int(seconds)
    if s >= 86400:
        return f"{s // 86400}d {s % 86400 // 3600}h"
    if s >= 3600:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s}s"


def _as_datetime(value: str | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def when(value: str | datetime | None) -> str:
    """A moment as people read it (UTC; the page's script shows it in local time)."""
    moment = _as_datetime(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


def iso(value: str | datetime | None) -> str:
    moment = _as_datetime(value)
    return moment.isoformat() if moment else ""


def relative(value: str | datetime | None, now: datetime | None = None) -> str:
    """'in 2m 05s' or '3h 10m ago'."""
    moment = _as_datetime(value)
    if moment is None:
        return ""
    delta = (moment - (now or datetime.now(UTC))).total_seconds()
    if abs(delta) < 1:
        return "now"
    return f"in {human_duration(delta)}" if delta > 0 else f"{human_duration(-delta)} ago"


def percent(progress: float | None) -> str:
    return "" if progress is None else f"{progress * 100:.0f}%"


def host(url: str) -> str:
    """Where a source comes from, short: the host of a URL, 'magnet' or 'torrent file'."""
    if url.startswith("magnet:"):
        return "magnet"
    if url.startswith("torrent:"):
        return "torrent file"
    if url.startswith("iptv://"):
        return "IPTV"
    return urlsplit(url).hostname or url[:40]


def label(download: dict[str, Any]) -> str:
    """A download's name: its title (until its source says, the file name its link ends
    with: :func:`haul.core.tracking.name_in_url`), else its link, as the API and the CLI
    show it."""
    return str(download.get("title") or download.get("url", ""))


@cache
def environment() -> Environment:
    """The template environment, made at the first page drawn: a server that only answers
    the API (or a worker) never loads Jinja2 (a few MB of a budget of 150)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        size=human_size,
        speed=human_speed,
        rate_input=rate_input,
        duration=human_duration,
        when=when,
        iso=iso,
        relative=relative,
        percent=percent,
        host=host,
        label=label,
    )
    env.globals.update(
        version=__version__,
        LIVE_STATUSES=LIVE_STATUSES,
        FINAL_STATUSES=FINAL_STATUSES,
    )
    return env


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A whole page (or a fragment: templates starting with ``_``) as an HTML response."""
    nav = context.pop("nav", None)
    context = {**who(request), **context}
    body = (
        environment()
        .get_template(template)
        .render(request=request, csrf=csrf_token(request), nav=nav, **context)
    )
    response = HTMLResponse(body, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    remember(request, response)
    return response


def fragment(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
