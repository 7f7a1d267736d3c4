"""Thumbnails served by haul: a download's (a copy of its page's picture) and a library
item's (its thumbnail file, cover picture or a frame). A browser never loads them from a site.

Who may see the download or the item may see its thumbnail; for anyone else, and when there
is none (or it could not be fetched), the answer is 404 and the pages show a placeholder.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response

from haul.core.images import sniff
from haul.errors import NotFound
from haul.media.frames import MAX_BYTES, picture_of
from haul.service.media import Picture
from haul.service.thumbnails import Thumbnail
from haul.web.deps import DownloadsDep, MediaDep, OwnerDep, ThumbnailsDep
from haul.web.ids import Id
from haul.web.schemas.errors import error_responses

#: A thumbnail does not change for a given address; a browser keeps it an hour, then asks
#: again with its ETag (and gets 304).
CACHE_CONTROL = "private, max-age=3600"

downloads_router = APIRouter(tags=["downloads"])
media_router = APIRouter(tags=["media"])

_IMAGE_ANSWER = {
    200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}, "image/gif": {}}},
    **error_responses(404),
}


@downloads_router.get(
    "/downloads/{download_id}/thumbnail", response_class=Response, responses=_IMAGE_ANSWER
)
async def download_thumbnail(
    download_id: Id,
    request: Request,
    service: DownloadsDep,
    owner: OwnerDep,
    thumbnails: ThumbnailsDep,
) -> Response:
    """A copy of the download's thumbnail (its page's picture), fetched once by haul."""
    source = await service.thumbnail_source(download_id, owner)
    found = await thumbnails.remote(source)
    if found is None:
        raise NotFound(f"The thumbnail of download {download_id} could not be fetched.")
    return await _answer(found, request)


@media_router.get("/media/{media_id}/thumbnail", response_class=Response, responses=_IMAGE_ANSWER)
async def media_thumbnail(
    media_id: Id, request: Request, media: MediaDep, owner: OwnerDep, thumbnails: ThumbnailsDep
) -> Response:
    """The item's thumbnail: the thumbnail file beside its media file, else the file's cover
    picture, else a frame of its video 320 pixels wide."""
    picture = await media.picture(media_id, owner)
    found = await thumbnails.local(picture.identity, lambda: _made(picture))
    if found is None:
        raise NotFound(f"Media item {media_id} has no picture to show.")
    return await _answer(found, request)


async def _made(picture: Picture) -> bytes | None:
    if picture.kind == "video":
        return await asyncio.to_thread(picture_of, picture.path)

    def read() -> bytes | None:
        with picture.path.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
        return data if len(data) <= MAX_BYTES and sniff(data[:16]) else None

    try:
        return await asyncio.to_thread(read)
    except OSError:
        return None


async def _answer(found: Thumbnail, request: Request) -> Response:
    headers = {
        "Cache-Control": CACHE_CONTROL,
        "ETag": found.etag,
        "X-Content-Type-Options": "nosniff",
    }
    if found.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    try:
        body = await asyncio.to_thread(found.read)
    except OSError:  # trimmed from the cache in the meantime
        raise NotFound("The thumbnail is no longer kept; ask again.") from None
    return Response(body, media_type=found.content_type, headers=headers)
