"""REST routes of retention: what is kept how long, the last run, a run now."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from haul.web.deps import AdminDep, OwnerDep, RetentionDep, SettingsDep
from haul.web.schemas.errors import error_responses
from haul.web.schemas.retention import RetentionOut, RetentionReportOut, RetentionRun

router = APIRouter(prefix="/retention", tags=["retention"])


@router.get("", response_model=RetentionOut)
async def show(retention: RetentionDep, settings: SettingsDep, _owner: OwnerDep) -> Any:
    """How long finished downloads are kept, and what the last run removed."""
    ages = await retention.current_ages()
    return {
        "retention_days": ages.days,
        "anonymous_retention_days": ages.anonymous_days,
        "interval": settings.retention_interval,
        "last_run": await retention.last_run(),
    }


@router.post("/run", response_model=RetentionReportOut, responses=error_responses(403))
async def run(retention: RetentionDep, _admin: AdminDep, body: RetentionRun | None = None) -> Any:
    """Remove the finished downloads kept longer than their age now, with their own files
    (administrators); files filed into the library stay with their media items. ``dry_run``
    removes nothing and lists what would go."""
    report = await retention.run(dry_run=body.dry_run if body is not None else False)
    return report.as_json()
