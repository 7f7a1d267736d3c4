"""The downloads pages: the live list, a download's detail, and the fragments the script
swaps in when events arrive (so a row is drawn by one template, with or without JavaScript)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from haul.core.bandwidth import parse_rate
from haul.core.status import Status
from haul.errors import Conflict, HaulError, NotFound
from haul.service import Owner, to_json
from haul.service.config import ConfigService
from haul.service.downloads import DownloadService
from haul.service.media import FileView, MediaService
from haul.web.basepath import base_of
from haul.web.deps import ConfigDep, DirectoryDep, DownloadsDep, MediaDep, OwnerDep
from haul.web.errors import INVALID_FORM, status_for, status_of
from haul.web.ids import Id, id_or_none
from haul.web.ui import csrf
from haul.web.ui.forms import same_site_path
from haul.web.ui.render import fragment, human_speed, page

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
STATUS_CHOICES = [s.value for s in Status if s not in (Status.MISSING, Status.UNKNOWN)]
SORTS = {"newest": "Newest first", "oldest": "Oldest first"}
ACTIONS = ("pause", "resume", "retry", "cancel", "remove", "stop")


@dataclass(frozen=True, slots=True)
class Filters:
    """What the list shows: the query string of the downloads page."""

    status: str = ""
    client: str = ""
    q: str = ""
    sort: str = "newest"

    @property
    def active(self) -> bool:
        return bool(self.status or self.client or self.q)

    def query(self, **more: str) -> str:
        values = {"status": self.status, "client": self.client, "q": self.q}
        if self.sort != "newest":
            values["sort"] = self.sort
        values.update(more)
        return urlencode({k: v for k, v in values.items() if v})


def _filters(status: str, client: str, q: str, sort: str) -> Filters:
    return Filters(
        status=status if status in STATUS_CHOICES else "",
        client=client.strip()[:64],
        q=" ".join(q.split())[:200],
        sort=sort if sort in SORTS else "newest",
    )


@router.get("/", response_class=HTMLResponse)
async def downloads_page(
    request: Request,
    service: DownloadsDep,
    directory: DirectoryDep,
    owner: OwnerDep,
    status: Annotated[str, Query(max_length=20)] = "",
    client: Annotated[str, Query(max_length=64)] = "",
    q: Annotated[str, Query(max_length=500)] = "",
    sort: Annotated[str, Query(max_length=10)] = "newest",
    cursor: Annotated[str, Query(max_length=32)] = "",
    added: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    filters = _filters(status, client, q, sort)
    listing = await service.page(
        owner,
        status=[filters.status] if filters.status else [],
        client=filters.client or None,
        q=filters.q or None,
        oldest=filters.sort == "oldest",
        limit=PAGE_SIZE,
        cursor=cursor or None,
    )
    totals = await service.totals(owner)
    items = [to_json(t) for t in listing.items]
    return page(
        request,
        "downloads.html",
        nav="downloads",
        items=items,
        filters=filters,
        statuses=STATUS_CHOICES,
        sorts=SORTS,
        clients=sorted(directory.clients),
        next_url=f"/?{filters.query(cursor=listing.next_cursor)}" if listing.next_cursor else "",
        first_url=f"/?{filters.query()}" if cursor else "",
        totals=totals,
        down=[c for c in totals.clients if not c.ok],
        details=owner.is_admin,  # client errors name internal addresses: administrators only
        show_owner=_show_owner(owner, items),
        added=[i for i in map(id_or_none, added.split(",")) if i is not None][:100],
    )


def _show_owner(owner: Owner, items: list[dict[str, Any]]) -> bool:
    """Admins see whose downloads they are, once there is more than one owner."""
    return owner.is_admin and any(item["owner"] != "local" for item in items)


@router.get("/ui/rows", response_class=HTMLResponse)
async def rows(
    request: Request,
    service: DownloadsDep,
    owner: OwnerDep,
    ids: Annotated[str, Query(max_length=2000)] = "",
) -> HTMLResponse:
    """Table rows of some downloads, drawn as the list draws them (the script swaps them in)."""
    wanted = [i for i in map(id_or_none, ids.split(",")) if i is not None][:200]
    items = [to_json(t) for t in await service.some(owner, wanted)] if wanted else []
    return page(request, "_rows.html", items=items, show_owner=_show_owner(owner, items))


@router.get("/ui/summary")
async def summary(request: Request, service: DownloadsDep, owner: OwnerDep) -> JSONResponse:
    """The header's totals and the client banner, refreshed by the script every few seconds."""
    totals = await service.totals(owner)
    return JSONResponse(
        {
            "active": totals.active,
            "queued": totals.queued,
            "paused": totals.paused,
            "seeding": totals.seeding,
            "speed": totals.speed,
            "speed_text": human_speed(totals.speed) or "idle",
            "banner": fragment(
                "_banner.html",
                down=[c for c in totals.clients if not c.ok],
                details=owner.is_admin,
                base=base_of(request.scope),
            ),
        },
        headers={"Cache-Control": "no-store"},
    )


@router.get("/downloads/{download_id}", response_class=HTMLResponse)
async def detail_page(
    request: Request,
    service: DownloadsDep,
    media: MediaDep,
    config: ConfigDep,
    owner: OwnerDep,
    download_id: Id,
) -> HTMLResponse:
    detail = await _detail(service, media, config, owner, download_id)
    return page(request, "download.html", nav="downloads", **detail)


@router.get("/ui/downloads/{download_id}/panel", response_class=HTMLResponse)
async def detail_panel(
    request: Request,
    service: DownloadsDep,
    media: MediaDep,
    config: ConfigDep,
    owner: OwnerDep,
    download_id: Id,
) -> HTMLResponse:
    """The detail page's body, drawn again when the download changes state."""
    return page(
        request, "_detail.html", **await _detail(service, media, config, owner, download_id)
    )


async def _detail(
    service: DownloadService,
    media: MediaService,
    config: ConfigService,
    owner: Owner,
    download_id: int,
) -> dict[str, Any]:
    item = to_json(await service.get(download_id, owner))
    events = await service.events(download_id, owner)
    probed: list[FileView] = await media.download_files(download_id, owner)
    children: list[dict[str, Any]] = []
    if item.get("children"):
        listing = await service.page(owner, parent_id=download_id, limit=500, oldest=True)
        children = [to_json(t) for t in listing.items]
    parent = None
    if item.get("parent_id"):
        with contextlib.suppress(NotFound):
            parent = to_json(await service.get(item["parent_id"], owner))
    attempts = [e.data.get("attempt") for e in events if e.kind == "retry_scheduled"]
    return {
        "item": item,
        "events": events,
        "files": _files(item, probed),
        "children": children,
        "parent": parent,
        "attempt": attempts[-1] if attempts else None,
        "max_attempts": config.retry_policy().max_attempts,
        "show_owner": owner.is_admin and item["owner"] != "local",
    }


def _files(item: dict[str, Any], probed: list[FileView]) -> list[dict[str, Any]]:
    """The download's files, each with its index (for the fetch link) and probed metadata."""
    by_path = {f.path: f for f in probed}
    by_name = {f.file_name: f for f in probed}
    found = []
    for index, entry in enumerate(item.get("files") or []):
        path, name = str(entry.get("path", "")), str(entry.get("name", ""))
        meta = by_path.get(path) or by_name.get(name or path.rsplit("/", 1)[-1])
        found.append(
            {"index": index, "name": name or path, "size": entry.get("size"), "meta": meta}
        )
    return found


@router.post("/downloads/{download_id}/{action}", response_model=None)
async def act(
    request: Request,
    service: DownloadsDep,
    owner: OwnerDep,
    download_id: Id,
    action: str,
    csrf_field: Annotated[str, Form(alias=csrf.FIELD)] = "",
    delete_files: Annotated[bool, Form()] = False,
    back: Annotated[str, Form(max_length=500)] = "",
    speed_limit: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """The buttons of a page without JavaScript: act, then go back where the person was.
    ``speed_limit``: the form that gives the download its own speed limit."""
    csrf.check(request, csrf_field)
    if action == "speed_limit":
        try:
            rate = parse_rate(speed_limit)
        except ValueError as exc:
            return await _error_page(request, 422, str(exc))
        try:
            await service.set_speed_limit(download_id, owner, rate)
        except HaulError as exc:
            return await _error_page(request, status_for(exc), exc.message)
        return RedirectResponse(_back_here(back), status_code=303)
    if action not in ACTIONS:
        return await _error_page(
            request, status_of(NotFound), "There is no such action on a download."
        )
    try:
        await _apply(service, owner, action, download_id, delete_files=delete_files)
    except HaulError as exc:
        return await _error_page(request, status_for(exc), exc.message)
    target = _back_here(back)
    if action == "remove" and target.startswith(f"/downloads/{download_id}"):
        target = "/"
    return RedirectResponse(target, status_code=303)


@router.post("/ui/bulk", response_model=None)
async def bulk(
    request: Request,
    service: DownloadsDep,
    owner: OwnerDep,
    action: Annotated[str, Form(max_length=10)],
    ids: Annotated[list[int], Form()] = [],  # noqa: B006
    csrf_field: Annotated[str, Form(alias=csrf.FIELD)] = "",
    delete_files: Annotated[bool, Form()] = False,
    back: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Bulk buttons without JavaScript (the script uses the API's bulk endpoints)."""
    csrf.check(request, csrf_field)
    if action not in ACTIONS:
        return await _error_page(request, INVALID_FORM, "Pick pause, resume, retry or cancel.")
    problems = []
    for download_id in ids[:1000]:
        try:
            await _apply(service, owner, action, download_id, delete_files=delete_files)
        except HaulError as exc:
            problems.append(f"{download_id}: {exc.message}")
    if problems:
        return await _error_page(request, status_of(Conflict), " ".join(problems))
    return RedirectResponse(_back_here(back), status_code=303)


def _back_here(back: str) -> str:
    """Where a button's post goes back to: the page it was on, never another site."""
    return same_site_path(back)


async def _apply(
    service: Any, owner: Owner, action: str, download_id: int, *, delete_files: bool
) -> None:
    if action == "cancel":
        await service.cancel(download_id, owner, delete_files=delete_files)
    elif action == "remove":
        await service.cancel(download_id, owner, delete_files=delete_files, hide=True)
    else:
        await getattr(service, action)(download_id, owner)


async def _error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    return page(request, "error.html", status_code=status_code, message=message)
