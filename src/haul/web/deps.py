"""FastAPI dependencies as typed aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from haul.errors import Forbidden
from haul.runtime import Runtime
from haul.service import DownloadService, Owner


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_service(request: Request) -> DownloadService:
    return get_runtime(request).service


def get_owner(request: Request) -> Owner:
    """Single-user mode: everything belongs to the local user (accounts come later)."""
    return Owner(key="local", ip=request.client.host if request.client else None, is_admin=True)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
ServiceDep = Annotated[DownloadService, Depends(get_service)]
OwnerDep = Annotated[Owner, Depends(get_owner)]


def get_admin(owner: OwnerDep) -> Owner:
    """The caller, when an administrator (403 otherwise)."""
    if not owner.is_admin:
        raise Forbidden("Only an administrator can do that.")
    return owner


AdminDep = Annotated[Owner, Depends(get_admin)]
