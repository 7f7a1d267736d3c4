"""The one place where haul's exception tree becomes HTTP status codes."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from haul.errors import (
    ClientError,
    Conflict,
    DuplicateDownload,
    HaulError,
    InputError,
    LimitExceeded,
    NotFound,
    ProviderError,
    StorageError,
)

STATUS_CODES: list[tuple[type[HaulError], int]] = [
    (InputError, 422),
    (NotFound, 404),
    (Conflict, 409),
    (LimitExceeded, 429),
    (ClientError, 502),
    (ProviderError, 502),
    (StorageError, 503),
]


def status_for(exc: HaulError) -> int:
    for kind, code in STATUS_CODES:
        if isinstance(exc, kind):
            return code
    return 500


def install(app: FastAPI) -> None:
    @app.exception_handler(HaulError)
    async def _haul_error(_request: Request, exc: HaulError) -> JSONResponse:
        body: dict[str, object] = {"detail": exc.message, "code": exc.code}
        if isinstance(exc, DuplicateDownload) and exc.existing_id is not None:
            body["existing_id"] = exc.existing_id
        headers = {"Retry-After": "5"} if isinstance(exc, LimitExceeded) else None
        return JSONResponse(body, status_code=status_for(exc), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
            problems.append(f"{where}: {error.get('msg')}" if where else str(error.get("msg")))
        detail = "The request is not valid: " + "; ".join(problems) + "."
        return JSONResponse({"detail": detail, "code": "invalid_input"}, status_code=422)
