"""The cookies page: upload a cookies.txt (a file, or its text pasted), see your sets (their
sites, how many cookies, the first expiry: never a cookie), and delete one.

Everyone who has downloads has one: an account, the local user, and a visitor of a public
haul (whose sets belong to the browser, like the visitor's downloads).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from haul.core.cookies import MAX_TEXT_BYTES, Parsed
from haul.errors import HaulError
from haul.service import Owner
from haul.service.cookies import CookieService
from haul.web.api.cookies import cookies_service, decoded
from haul.web.deps import OwnerDep
from haul.web.errors import status_for
from haul.web.ids import Id
from haul.web.ui import csrf
from haul.web.ui.render import page

router = APIRouter(include_in_schema=False)

NOTHING = "Choose a cookies.txt file, or paste its text."
NOTES = {"added": "The cookies are stored.", "removed": "The cookie set is deleted."}


@router.get("/cookies", response_class=HTMLResponse)
async def cookies_page(
    request: Request,
    owner: OwnerDep,
    done: Annotated[str, Query(max_length=20)] = "",
    left: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> HTMLResponse:
    note = NOTES.get(done)
    if note and done == "added" and left:
        note = f"{note} {Parsed([], left).note}"
    return await _render(request, owner, cookies_service(request), note=note)


@router.post("/cookies", response_model=None)
async def upload(request: Request, owner: OwnerDep) -> Response:
    cookies = cookies_service(request)
    async with request.form() as form:  # a multipart form: the file and the pasted text
        csrf.check(request, str(form.get(csrf.FIELD, "")))
        sent = form.get("file")
        pasted = str(form.get("cookies_txt") or "")
        try:
            if isinstance(sent, UploadFile) and sent.filename:
                text = decoded(await sent.read(MAX_TEXT_BYTES + 1))
            else:
                text = pasted
            if not text.strip() and not pasted:
                return await _render(request, owner, cookies, problem=NOTHING, code=422)
            added = await cookies.add(owner, text)
        except HaulError as exc:
            return await _render(request, owner, cookies, problem=exc.message, code=status_for(exc))
    left = f"&left={added.left_out}" if added.left_out else ""
    return RedirectResponse(f"/cookies?done=added{left}", status_code=303)


@router.post("/cookies/{set_id}/delete", response_model=None)
async def delete(
    request: Request,
    owner: OwnerDep,
    set_id: Id,
    csrf_field: Annotated[str, Form(alias=csrf.FIELD)] = "",
) -> Response:
    csrf.check(request, csrf_field)
    await cookies_service(request).remove(owner, set_id)
    return RedirectResponse("/cookies?done=removed", status_code=303)


async def _render(
    request: Request,
    owner: Owner,
    cookies: CookieService,
    *,
    note: str | None = None,
    problem: str | None = None,
    code: int = 200,
) -> HTMLResponse:
    return page(
        request,
        "cookies.html",
        status_code=code,
        nav="cookies",
        sets=await cookies.listed(owner),
        note=note,
        problem=problem,
        visitor=owner.anonymous,
    )
