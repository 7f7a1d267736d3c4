"""What an error answer of the API looks like, and the one way routes declare theirs.

Every 4xx and 5xx body is ``{"detail": "<a sentence>", "code": "<a short code>", ...}``
(:mod:`haul.web.errors` writes them). A route lists the error statuses it can answer with
``responses=error_responses(404, 409)``; :func:`document` makes the OpenAPI schema describe
every error response with :class:`ErrorOut`, FastAPI's own 422 (whose body haul replaces)
and error statuses declared elsewhere without a body included.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

Responses = dict[int | str, dict[str, Any]]

REF = "#/components/schemas/{model}"

REASONS = {
    400: "The request cannot be read",
    401: "Not logged in, or the token is not valid",
    403: "The caller may not do that",
    404: "There is no such thing (or it belongs to someone else)",
    409: "It conflicts with the current state",
    410: "It existed and is gone",
    413: "The request body is too large",
    422: "The request is not valid; `detail` says why",
    429: "Over a limit; `Retry-After` says when to try again",
    502: "A download client or IPTV provider failed or cannot be reached",
    503: "The database is not usable",
}


class ErrorOut(BaseModel):
    """Every error answer: a sentence for a person and a code for a program."""

    detail: str = Field(description="What is wrong, as a sentence to show a person")
    code: str | None = Field(
        default=None, description="A short code for programs", examples=["not_found"]
    )
    errors: dict[str, str] | list[dict[str, Any]] | None = Field(
        default=None,
        description="Field -> what is wrong with it; for several URLs submitted at once, one "
        "entry per URL that was refused",
    )
    existing_id: int | None = Field(
        default=None, description="A duplicate download: the one already there"
    )


def error_responses(*codes: int, described: Mapping[int, str] | None = None) -> Responses:
    """``responses=`` for a route answering these error statuses with :class:`ErrorOut`;
    ``described`` says more than the usual reason for some, e.g. ``{409: "The name is taken"}``."""
    said = described or {}
    return {
        code: {"model": ErrorOut, "description": said.get(code, REASONS[code])} for code in codes
    }


def document(app: FastAPI) -> None:
    """Make ``app.openapi()`` describe every error response with :class:`ErrorOut`."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            describe_errors(build())
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def describe_errors(schema: dict[str, Any]) -> None:
    """Give each 4xx/5xx response of ``schema`` that has no body, or FastAPI's validation
    error body, the :class:`ErrorOut` body (in place)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    _, definitions = models_json_schema([(ErrorOut, "serialization")], ref_template=REF)
    components.update(definitions.get("$defs", {}))
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                if str(status)[:1] in "45" and _replaceable(response):
                    schema_ref = {"$ref": REF.format(model=ErrorOut.__name__)}
                    response["content"] = {"application/json": {"schema": schema_ref}}
    if "/HTTPValidationError'" not in repr(schema.get("paths")):
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)


def _replaceable(response: dict[str, Any]) -> bool:
    content = response.get("content")
    if not content:
        return True
    ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
    return isinstance(ref, str) and ref.endswith("/HTTPValidationError")
