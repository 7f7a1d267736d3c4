"""REST routes for downloads: create, list, show, control, fetch the file."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status
from fastapi.responses import FileResponse, JSONResponse

from haul.core.bandwidth import parse_rate
from haul.core.status import statuses_asked
from haul.core.submit_options import PRIORITY_HIGHEST, PRIORITY_LOWEST, SubmitOptions
from haul.core.torrents import MAX_TORRENT_BYTES
from haul.core.tracking import Tracked
from haul.errors import HaulError, InvalidFields, PayloadTooLarge
from haul.service import Owner, to_json
from haul.web.answers import ListAnswer
from haul.web.deps import DownloadsDep, OwnerDep
from haul.web.errors import status_for
from haul.web.files import file_response
from haul.web.ids import Id
from haul.web.nul import refuse_nul_fields
from haul.web.schemas.downloads import (
    BulkAction,
    BulkCreated,
    BulkResult,
    CancelBody,
    DownloadChange,
    DownloadCreate,
    DownloadEventOut,
    DownloadList,
    DownloadOut,
)
from haul.web.schemas.errors import error_responses

router = APIRouter(prefix="/downloads", tags=["downloads"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DownloadOut | BulkCreated,
    responses=error_responses(409, 422, 429),
)
async def create(body: DownloadCreate, service: DownloadsDep, owner: OwnerDep) -> Any:
    """Queue one source (``url``) or several (``urls``). Answers at once: no network work."""

    options = body.options()

    async def one(url: str) -> dict[str, Any]:
        return to_json(await service.submit(url, owner, options))

    if body.url is not None:
        return await one(body.url)
    items: list[dict[str, Any]] = []
    errors: list[tuple[int, dict[str, str]]] = []
    urls = body.urls or []
    # Submitted together, they are stored in one transaction (see service.submitting).
    outcomes = await asyncio.gather(*(one(url) for url in urls), return_exceptions=True)
    for url, outcome in zip(urls, outcomes, strict=True):
        if isinstance(outcome, HaulError):
            errors.append(
                (status_for(outcome), {"url": url, "detail": outcome.message, "code": outcome.code})
            )
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            items.append(outcome)
    if not items:
        first_status, first = errors[0]
        detail = (
            first["detail"]
            if len(errors) == 1
            else f"None of the {len(errors)} URLs was queued; the first: {first['detail']}"
        )
        return JSONResponse(
            {"detail": detail, "code": first["code"], "errors": [e for _, e in errors]},
            status_code=first_status,
        )
    return {"items": items, "errors": [e for _, e in errors]}


@router.post(
    "/torrent",
    status_code=status.HTTP_201_CREATED,
    response_model=DownloadOut,
    responses=error_responses(409, 413, 422, 429),
)
async def create_from_torrent(
    service: DownloadsDep,
    owner: OwnerDep,
    torrent: Annotated[UploadFile, File(description="A .torrent file")],
    client: Annotated[str | None, Form(max_length=64)] = None,
    profile: Annotated[str | None, Form(max_length=100)] = None,
    paused: Annotated[bool, Form()] = False,
    priority: Annotated[int, Form(ge=PRIORITY_LOWEST, le=PRIORITY_HIGHEST)] = 0,
    title: Annotated[str | None, Form(max_length=1000)] = None,
    media_id: Annotated[Id | None, Form()] = None,
    force: Annotated[bool, Form()] = False,
    speed_limit: Annotated[str | None, Form(max_length=40)] = None,
) -> Any:
    """Queue an uploaded .torrent file (multipart form, field ``torrent``)."""
    refuse_nul_fields({"client": client, "profile": profile, "title": title})
    try:
        rate = parse_rate(speed_limit)
    except ValueError as exc:
        raise InvalidFields({"speed_limit": str(exc)}) from None
    blob = await torrent.read(MAX_TORRENT_BYTES + 1)
    if len(blob) > MAX_TORRENT_BYTES:
        raise PayloadTooLarge(
            f"The .torrent file is larger than {MAX_TORRENT_BYTES // (1024 * 1024)} MB."
        )
    options = SubmitOptions(
        profile=profile,
        client=client,
        media_id=media_id,
        force=force,
        paused=paused,
        priority=priority,
        title=title,
        speed_limit=rate,
    )
    tracked = await service.submit_torrent(blob, owner, options)
    return to_json(tracked)


@router.get("", response_model=DownloadList)
async def list_downloads(
    service: DownloadsDep,
    owner: OwnerDep,
    status_: Annotated[list[str], Query(alias="status")] = [],  # noqa: B006
    client: str | None = None,
    media_id: Id | None = None,
    parent_id: Id | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=32)] = None,
    sort: Annotated[
        Literal["newest", "oldest"],
        Query(description="newest first, or oldest first (a playlist's entries in order)"),
    ] = "newest",
) -> Any:
    """Downloads joined with their clients' live state, newest first (or oldest first);
    ``status`` (repeated, or comma-separated) keeps those of the statuses named."""
    statuses = statuses_asked(status_)
    page = await service.page(
        owner,
        status=statuses,
        client=client,
        media_id=media_id,
        parent_id=parent_id,
        limit=limit,
        cursor=cursor,
        oldest=sort == "oldest",
    )
    # Sent as built: the items are already plain JSON values (service.values.to_json), and
    # validating up to 1,000 of them against the response model again costs more than the
    # slowest client's own bulk call. The model still documents the shape.
    return ListAnswer(
        {
            "items": [to_json(t) for t in page.items],
            "next_cursor": page.next_cursor,
            "clients": [{"name": c.name, "ok": c.ok, "error": c.error} for c in page.clients],
        }
    )


Action = Callable[[int, Owner], Awaitable[Tracked]]


async def _bulk(ids: list[int], action: Action, owner: Owner) -> dict[str, Any]:
    items, errors = [], []
    for download_id in ids:
        try:
            items.append(to_json(await action(download_id, owner)))
        except HaulError as exc:
            errors.append({"id": download_id, "detail": exc.message, "code": exc.code})
    return {"items": items, "errors": errors}


@router.post("/pause", response_model=BulkResult)
async def pause_many(body: BulkAction, service: DownloadsDep, owner: OwnerDep) -> Any:
    return await _bulk(body.ids, service.pause, owner)


@router.post("/resume", response_model=BulkResult)
async def resume_many(body: BulkAction, service: DownloadsDep, owner: OwnerDep) -> Any:
    return await _bulk(body.ids, service.resume, owner)


@router.post("/stop", response_model=BulkResult)
async def stop_many(body: BulkAction, service: DownloadsDep, owner: OwnerDep) -> Any:
    return await _bulk(body.ids, service.stop, owner)


@router.post("/retry", response_model=BulkResult)
async def retry_many(body: BulkAction, service: DownloadsDep, owner: OwnerDep) -> Any:
    return await _bulk(body.ids, service.retry, owner)


@router.post("/cancel", response_model=BulkResult)
async def cancel_many(body: BulkAction, service: DownloadsDep, owner: OwnerDep) -> Any:
    async def cancel(download_id: int, who: Owner) -> Tracked:
        return await service.cancel(download_id, who, delete_files=body.delete_files)

    return await _bulk(body.ids, cancel, owner)


@router.get("/{download_id}", response_model=DownloadOut, responses=error_responses(404))
async def show(download_id: Id, service: DownloadsDep, owner: OwnerDep) -> Any:
    return to_json(await service.get(download_id, owner))


@router.patch("/{download_id}", response_model=DownloadOut, responses=error_responses(404, 422))
async def change(
    download_id: Id, body: DownloadChange, service: DownloadsDep, owner: OwnerDep
) -> Any:
    """Change a download: its own speed limit (``speed_limit``), followed live by a running
    transfer of the built-in engine."""
    rate = body.speed_limit if isinstance(body.speed_limit, int) else None
    return to_json(await service.set_speed_limit(download_id, owner, rate))


@router.get(
    "/{download_id}/events", response_model=list[DownloadEventOut], responses=error_responses(404)
)
async def history(download_id: Id, service: DownloadsDep, owner: OwnerDep) -> Any:
    """The download's timeline: every state change haul recorded, oldest first."""
    return [
        {"id": e.id, "at": e.at, "kind": e.kind, "message": e.message, "data": e.data}
        for e in await service.events(download_id, owner)
    ]


@router.post(
    "/{download_id}/pause", response_model=DownloadOut, responses=error_responses(404, 409)
)
async def pause(download_id: Id, service: DownloadsDep, owner: OwnerDep) -> Any:
    return to_json(await service.pause(download_id, owner))


@router.post(
    "/{download_id}/resume", response_model=DownloadOut, responses=error_responses(404, 409)
)
async def resume(download_id: Id, service: DownloadsDep, owner: OwnerDep) -> Any:
    return to_json(await service.resume(download_id, owner))


@router.post(
    "/{download_id}/stop",
    response_model=DownloadOut,
    responses=error_responses(
        404, 409, described={409: "It is not a live recording, or it was canceled"}
    ),
)
async def stop(download_id: Id, service: DownloadsDep, owner: OwnerDep) -> Any:
    """End a live recording and keep what was recorded: it is finished like any download
    (probed, filed into the library). Unlike cancel, nothing is discarded."""
    return to_json(await service.stop(download_id, owner))


@router.post(
    "/{download_id}/retry", response_model=DownloadOut, responses=error_responses(404, 409)
)
async def retry(download_id: Id, service: DownloadsDep, owner: OwnerDep) -> Any:
    return to_json(await service.retry(download_id, owner))


@router.post("/{download_id}/cancel", response_model=DownloadOut, responses=error_responses(404))
async def cancel(
    download_id: Id, service: DownloadsDep, owner: OwnerDep, body: CancelBody | None = None
) -> Any:
    """Stop the download for good (it stays in the list as canceled); partial data is
    deleted only with ``delete_files``."""
    delete_files = body.delete_files if body is not None else False
    return to_json(await service.cancel(download_id, owner, delete_files=delete_files))


@router.delete("/{download_id}", response_model=DownloadOut, responses=error_responses(404))
async def delete(
    download_id: Id, service: DownloadsDep, owner: OwnerDep, delete_files: bool = False
) -> Any:
    """Cancel the download if it is unfinished, then remove it from view (history is kept)."""
    return to_json(await service.cancel(download_id, owner, delete_files=delete_files, hide=True))


@router.get(
    "/{download_id}/file",
    responses={206: {"description": "Part of the file (HTTP Range)"}, **error_responses(404)},
    response_class=Response,
)
async def fetch_file(
    download_id: Id, service: DownloadsDep, owner: OwnerDep, index: Annotated[int, Query(ge=0)] = 0
) -> FileResponse:
    """The finished file, with HTTP Range support."""
    return file_response(await service.file_path(download_id, owner, index))
