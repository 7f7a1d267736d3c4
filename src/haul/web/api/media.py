"""REST routes of the media library: items, their files, attaching downloads, rescans."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from haul.service.listing import cursor_id
from haul.service.media import FileView, ItemView
from haul.web.deps import AdminDep, MediaDep, OwnerDep
from haul.web.ids import Id
from haul.web.schemas.errors import error_responses
from haul.web.schemas.media import (
    Attach,
    Deleted,
    MediaChange,
    MediaCreate,
    MediaDetail,
    MediaFileList,
    MediaKind,
    MediaList,
    MediaOut,
    Reprocessing,
    RescanOut,
)

router = APIRouter(tags=["media"])


def _item(view: ItemView, *, has_file: bool = False) -> dict[str, Any]:
    data = dataclasses.asdict(view)
    data.pop("owner")
    data["thumbnail_url"] = thumbnail_url(view.id) if has_file else None
    return data


def thumbnail_url(media_id: int) -> str:
    return f"/api/v1/media/{media_id}/thumbnail"


def _file(view: FileView) -> dict[str, Any]:
    return dataclasses.asdict(view)


@router.get("/media", response_model=MediaList)
async def list_media(
    media: MediaDep,
    owner: OwnerDep,
    kind: MediaKind | None = None,
    q: Annotated[str | None, Query(max_length=200, description="Part of the title")] = None,
    parent_id: Id | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
) -> dict[str, Any]:
    after = cursor_id(cursor) if cursor is not None else None
    items, last = await media.find(
        owner, kind=kind, query=q, parent_id=parent_id, limit=limit, cursor=after
    )
    summaries = await media.summaries(items)
    return {
        "items": [_item(i, has_file=summaries[i.id].has_file) for i in items],
        "next_cursor": str(last) if last else None,
    }


@router.post("/media", status_code=status.HTTP_201_CREATED, response_model=MediaOut)
async def create_media(body: MediaCreate, media: MediaDep, owner: OwnerDep) -> dict[str, Any]:
    view = await media.create(
        owner,
        kind=body.kind,
        title=body.title,
        year=body.year,
        parent_id=body.parent_id,
        season=body.season,
        episode=body.episode,
        external_ids=body.external_ids.given(),
    )
    return _item(view)


@router.get("/media/{media_id}", response_model=MediaDetail, responses=error_responses(404))
async def get_media_item(media_id: Id, media: MediaDep, owner: OwnerDep) -> dict[str, Any]:
    detail = await media.get(media_id, owner)
    has_file = any(f.is_media and f.file_exists for f in detail.files)
    return {
        **_item(detail.item, has_file=has_file),
        "parent": _item(detail.parent) if detail.parent else None,
        "children": [_item(c) for c in detail.children],
        "download_ids": detail.download_ids,
        "files": [_file(f) for f in detail.files],
    }


@router.patch("/media/{media_id}", response_model=MediaOut, responses=error_responses(404))
async def change_media(
    media_id: Id, body: MediaChange, media: MediaDep, owner: OwnerDep
) -> dict[str, Any]:
    given = body.model_dump(exclude_unset=True)
    if "external_ids" in given:
        given["external_ids"] = body.external_ids.given() if body.external_ids else {}
    return _item(await media.update(media_id, owner, **given))


@router.delete("/media/{media_id}", response_model=Deleted, responses=error_responses(404))
async def delete_media(
    media_id: Id, media: MediaDep, owner: OwnerDep, delete_files: bool = False
) -> dict[str, Any]:
    """Delete the item, its episodes and trailers, and their file records. Files on disk are
    deleted only with ``delete_files``."""
    return {"files_deleted": await media.delete(media_id, owner, delete_files=delete_files)}


@router.post("/media/rescan", response_model=RescanOut, responses=error_responses(403))
async def rescan(media: MediaDep, _admin: AdminDep) -> dict[str, Any]:
    """Look for every recorded file on disk now (a job does it every few hours too)."""
    return dataclasses.asdict(await media.rescan())


@router.post(
    "/media/{media_id}/reprocess",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Reprocessing,
    responses=error_responses(404, 409),
)
async def reprocess_item(media_id: Id, media: MediaDep, owner: OwnerDep) -> dict[str, Any]:
    """Probe the files of every completed download of the item (and of its episodes and
    trailers) again, and file them into the library again: after a wrong probe, or a change
    of the item's title or year. 409 when it has no completed download."""
    return {"download_ids": await media.reprocess_item(media_id, owner)}


@router.post(
    "/downloads/{download_id}/reprocess",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Reprocessing,
    responses=error_responses(404, 409),
)
async def reprocess_download(download_id: Id, media: MediaDep, owner: OwnerDep) -> dict[str, Any]:
    """Probe a completed download's files again and, when it belongs to a media item, file
    them into the library again. 409 unless the download is completed."""
    return {"download_ids": await media.reprocess_download(download_id, owner)}


@router.get(
    "/downloads/{download_id}/files", response_model=MediaFileList, responses=error_responses(404)
)
async def download_files(download_id: Id, media: MediaDep, owner: OwnerDep) -> dict[str, Any]:
    """The download's finished files with what the probe found in each."""
    return {"items": [_file(f) for f in await media.download_files(download_id, owner)]}


@router.post(
    "/downloads/{download_id}/media",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(404, 409),
)
async def attach(download_id: Id, body: Attach, media: MediaDep, owner: OwnerDep) -> None:
    """Let a download belong to a media item (a finished one is filed into the library). With
    ``force``, a finished download already attached to that item is probed and filed again."""
    await media.attach(download_id, body.media_id, owner, force=body.force)
