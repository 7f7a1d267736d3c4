"""FastAPI dependencies as typed aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from haul.errors import Forbidden
from haul.runtime import Runtime
from haul.service import DownloadService, Owner
from haul.web.auth import Gate


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_service(request: Request) -> DownloadService:
    return get_runtime(request).service


async def get_owner(conn: HTTPConnection) -> Owner:
    """Who is asking (see :mod:`haul.web.auth`); 401 when this instance needs a login."""
    gate: Gate = conn.app.state.gate
    return await gate.owner(conn)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
ServiceDep = Annotated[DownloadService, Depends(get_service)]
OwnerDep = Annotated[Owner, Depends(get_owner)]


def get_admin(owner: OwnerDep) -> Owner:
    """The caller, when an administrator (403 otherwise)."""
    if not owner.is_admin:
        raise Forbidden("Only an administrator can do that.")
    return owner


AdminDep = Annotated[Owner, Depends(get_admin)]


def get_account(owner: OwnerDep) -> Owner:
    """The caller, when they have an account or are the local user (403 for visitors)."""
    if owner.anonymous:
        raise Forbidden("Visitors without an account cannot do that here; log in first.")
    return owner


AccountDep = Annotated[Owner, Depends(get_account)]
