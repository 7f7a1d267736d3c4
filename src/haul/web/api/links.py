"""Signed file links: made by a download's owner under /api/v1, opened at /files/{token}
by anyone holding one (no account: the token is the permission)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import FileResponse

from haul.web.deps import LinksDep, OwnerDep
from haul.web.files import file_response
from haul.web.ids import Id
from haul.web.schemas.errors import error_responses
from haul.web.schemas.links import LinkCreate, LinkOut

router = APIRouter(prefix="/downloads", tags=["downloads"])
#: Mounted at the root of the site, outside /api/v1.
files_router = APIRouter(tags=["files"])


@router.post("/{download_id}/link", response_model=LinkOut, responses=error_responses(404, 422))
async def create_link(
    download_id: Id, links: LinksDep, owner: OwnerDep, body: LinkCreate | None = None
) -> Any:
    """A signed link to one finished file of your download that anyone can open until it
    expires (default 24 hours, at most 30 days)."""
    wanted = body or LinkCreate()
    link = await links.create(download_id, owner, index=wanted.index, expires_in=wanted.expires_in)
    return {"url": link.path, "expires_at": link.expires_at, "name": link.name}


@files_router.get(
    "/files/{token}",
    response_class=Response,
    responses={
        206: {"description": "Part of the file (HTTP Range)"},
        **error_responses(404, 410),
    },
)
async def open_link(token: str, links: LinksDep) -> FileResponse:
    """The file a signed link names, with HTTP Range support (HEAD answered too). A link
    that is malformed, was changed or whose download was deleted answers 404, all with the
    same body (so ids cannot be probed); a genuine link that expired answers 410."""
    return file_response(await links.open(token))


files_router.add_api_route(
    "/files/{token}", open_link, methods=["HEAD"], response_class=Response, include_in_schema=False
)
