"""REST route of the speed limits in force: what the schedule says now and when it changes
(changed through ``/config`` and, for one download, ``PATCH /downloads/{id}``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from haul.service.speeds import speeds_now
from haul.web.deps import ConfigDep, OwnerDep
from haul.web.schemas.limits import LimitsOut

router = APIRouter(prefix="/limits", tags=["config"])


@router.get("", response_model=LimitsOut)
async def read_limits(config: ConfigDep, _owner: OwnerDep) -> Any:
    """The download speed limits in force now: the global limit (the configured one, or a
    schedule window's), the per-owner limit, whether a pause window holds the built-in
    engine's transfers, and when that changes next."""
    await config.reload()
    return speeds_now(config.current)
