"""REST routes for site cookies: upload a cookies.txt, list the sets, remove one.

An upload is JSON (``{"cookies_txt": "..."}``) or a multipart form with the file in the
field ``file``. No answer ever holds a cookie's name or value.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, status
from starlette.datastructures import UploadFile

from haul.core.cookies import MAX_TEXT_BYTES
from haul.errors import InputError, PayloadTooLarge
from haul.service.cookies import CookieService
from haul.web.deps import OwnerDep, get_runtime
from haul.web.ids import Id
from haul.web.schemas.cookies import CookieSetAdded, CookieSetList
from haul.web.schemas.errors import error_responses

router = APIRouter(prefix="/cookies", tags=["cookies"])

_TEXT = {
    "type": "string",
    "description": "The text of a Netscape cookies.txt (at most 1 MB)",
    "example": "# Netscape HTTP Cookie File\n.example.com\tTRUE\t/\tTRUE\t1893456000\tsid\t...\n",
}
UPLOAD_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["cookies_txt"],
                "properties": {"cookies_txt": _TEXT},
                "additionalProperties": False,
            }
        },
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "A Netscape cookies.txt file (at most 1 MB)",
                    }
                },
            }
        },
    },
}
NOT_TEXT = "The cookies.txt must be text in UTF-8."
SEND = (
    'Send the cookies.txt as JSON {"cookies_txt": "<the file\'s text>"} or as a multipart form '
    "with the file in the field 'file'."
)


def cookies_service(request: Request) -> CookieService:
    return get_runtime(request).cookies


async def uploaded_text(request: Request) -> str:
    """The cookies.txt a request carries (JSON or multipart); InputError with a sentence
    for anything else."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        async with request.form() as form:  # closes the uploaded file's spool
            sent = form.get("file")
            if sent is None:
                sent = form.get("cookies_txt")
            if isinstance(sent, str):
                return sent
            if not isinstance(sent, UploadFile):
                raise InputError(SEND)
            return decoded(await sent.read(MAX_TEXT_BYTES + 1))
    if kind == "application/json" or kind.endswith("+json"):
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeError):
            raise InputError("The request body is not JSON. " + SEND) from None
        if isinstance(body, dict) and isinstance(body.get("cookies_txt"), str):
            return str(body["cookies_txt"])
        raise InputError(SEND)
    raise InputError(SEND)


def decoded(blob: bytes) -> str:
    if len(blob) > MAX_TEXT_BYTES:
        raise PayloadTooLarge(
            f"A cookies.txt of at most {MAX_TEXT_BYTES // (1024 * 1024)} MB is accepted."
        )
    try:
        return blob.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(NOT_TEXT) from None


@router.get("", response_model=CookieSetList)
async def list_cookies(request: Request, owner: OwnerDep) -> Any:
    """Your cookie sets: the sites, how many cookies, the first expiry (never the cookies)."""
    return {"items": [v.to_json() for v in await cookies_service(request).listed(owner)]}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CookieSetAdded,
    response_model_exclude_unset=True,
    responses=error_responses(413, 422),
    openapi_extra={"requestBody": UPLOAD_BODY},
)
async def upload_cookies(request: Request, owner: OwnerDep) -> Any:
    """Upload a Netscape cookies.txt. Your downloads from its sites then send its cookies
    (a site that wants a sign-in, or a check that you are not a bot, lets them through)."""
    text = await uploaded_text(request)
    return (await cookies_service(request).add(owner, text)).to_json()


@router.delete("/{set_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(404))
async def delete_cookies(set_id: Id, request: Request, owner: OwnerDep) -> None:
    await cookies_service(request).remove(owner, set_id)
