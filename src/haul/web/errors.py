"""The one place where haul's exception tree becomes HTTP status codes and headers.

:func:`status_for` and :func:`headers_for` are used by the API's exception handlers and by
the pages' form handlers alike, so a kind of error answers the same status everywhere.
"""

from __future__ import annotations

import math
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from haul.errors import (
    ClientError,
    Conflict,
    DuplicateDownload,
    Forbidden,
    Gone,
    HaulError,
    InputError,
    InvalidFields,
    LimitExceeded,
    NotFound,
    PayloadTooLarge,
    ProviderError,
    StorageError,
    TooManyAttempts,
    TooManyListings,
    Unauthorized,
)
from haul.web.schemas import errors as error_schemas

#: A branch of the tree -> its status; the first branch an error belongs to decides.
STATUS_CODES: list[tuple[type[HaulError], int]] = [
    (InputError, 422),
    (NotFound, 404),
    (Unauthorized, 401),
    (Forbidden, 403),
    (Gone, 410),
    (Conflict, 409),
    (PayloadTooLarge, 413),
    (LimitExceeded, 429),
    (TooManyAttempts, 429),
    (ClientError, 502),
    (ProviderError, 502),
    (StorageError, 503),
]

#: Any other error of haul's (a transfer error, a refused start) reaching a request.
DEFAULT_STATUS = 500

#: How long a caller over an admission limit is asked to wait, in seconds.
LIMIT_RETRY_AFTER = 5


def status_of(kind: type[HaulError]) -> int:
    """The status a kind of error answers."""
    for branch, code in STATUS_CODES:
        if issubclass(kind, branch):
            return code
    return DEFAULT_STATUS


def status_for(exc: HaulError) -> int:
    """The status an error answers."""
    return status_of(type(exc))


#: A form that comes back with notes on its fields answers as bad input does.
INVALID_FORM = status_of(InputError)


def headers_for(exc: HaulError, *, page: bool = False) -> dict[str, str]:
    """The headers an error answers with: when to ask again, and (for the API, not for a page,
    which logs in by its form) how to authenticate."""
    if isinstance(exc, TooManyListings):
        return {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}
    if isinstance(exc, LimitExceeded):
        return {"Retry-After": str(LIMIT_RETRY_AFTER)}
    if isinstance(exc, TooManyAttempts):
        return {"Retry-After": str(max(1, round(exc.retry_after)))}
    if isinstance(exc, Unauthorized) and not page:
        return {"WWW-Authenticate": 'Bearer realm="haul"'}
    return {}


def _wants_page(request: Request) -> bool:
    """A browser asking for a page (not the API): errors are shown as a page too."""
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


def _page(request: Request, status_code: int, message: str) -> Response:
    from haul.web.ui.render import page  # the pages load templates: only when one is asked for

    title = {404: "Not found", 403: "Not allowed", 429: "Over the limit"}.get(status_code)
    return page(request, "error.html", status_code=status_code, message=message, title=title)


def _to_login(request: Request) -> Response:
    """A page asked for without a login: to the login page, and back here after it."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?{urlencode({'next': here})}", status_code=303)


NOT_FOUND_PAGE = "There is no page here. The downloads list is the place to start."


def _names_nothing(request: Request, exc: RequestValidationError) -> bool:
    """A page whose path names no possible id (``/downloads/99999999999999999999``): there
    is no such page. The API says which parameter it could not read instead (422)."""
    if request.url.path.startswith("/api/"):
        return False
    return any(error.get("loc", ("",))[0] == "path" for error in exc.errors())


UNREADABLE = (
    "The request body cannot be read: send JSON in UTF-8 (Content-Type: application/json) "
    "or, for an upload, a multipart form."
)


def install(app: FastAPI) -> None:
    error_schemas.document(app)

    @app.exception_handler(HaulError)
    async def _haul_error(request: Request, exc: HaulError) -> Response:
        if _wants_page(request) and isinstance(exc, Unauthorized):
            return _to_login(request)
        if _wants_page(request):
            return _page(request, status_for(exc), exc.message)
        body: dict[str, object] = {"detail": exc.message, "code": exc.code}
        if isinstance(exc, DuplicateDownload) and exc.existing_id is not None:
            body["existing_id"] = exc.existing_id
        if isinstance(exc, InvalidFields):
            body["errors"] = exc.problems
        return JSONResponse(body, status_code=status_for(exc), headers=headers_for(exc) or None)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        if _names_nothing(request, exc):
            if _wants_page(request):
                return _page(request, 404, NOT_FOUND_PAGE)
            return JSONResponse({"detail": NOT_FOUND_PAGE, "code": "not_found"}, status_code=404)
        problems = []
        fields: dict[str, str] = {}
        for error in exc.errors():
            where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
            problems.append(f"{where}: {error.get('msg')}" if where else str(error.get("msg")))
            said = fields.get(where or "body")
            fields[where or "body"] = f"{said}; {error.get('msg')}" if said else str(error["msg"])
        detail = "The request is not valid: " + "; ".join(problems) + "."
        if _wants_page(request):
            return _page(request, 422, detail)
        body = {"detail": detail, "code": "invalid_input", "errors": fields}
        return JSONResponse(body, status_code=422)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        if _wants_page(request) and exc.status_code in (404, 405):
            return _page(request, 404, NOT_FOUND_PAGE)
        if exc.status_code == 400:  # FastAPI could not parse the body (not UTF-8, bad form)
            return JSONResponse({"detail": UNREADABLE, "code": "unreadable_body"}, status_code=422)
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )
