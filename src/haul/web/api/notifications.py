"""REST routes for notification targets: configure, list, remove, send a test."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from haul.web.deps import NotificationsDep, OwnerDep
from haul.web.ids import Id
from haul.web.schemas.errors import error_responses
from haul.web.schemas.notifications import (
    NotificationCreate,
    NotificationList,
    NotificationOut,
    NotificationSettings,
    NotificationTestOut,
)

router = APIRouter(prefix="/notifications", tags=["notifications"])


@router.get("", response_model=NotificationList)
async def list_targets(notifications: NotificationsDep, owner: OwnerDep) -> Any:
    """Your notification targets (all of them for an administrator, global ones included)."""
    return {"items": [t.to_json() for t in await notifications.configured(owner)]}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=NotificationOut,
    responses=error_responses(409, 422),
)
async def create_target(
    body: NotificationCreate, notifications: NotificationsDep, owner: OwnerDep
) -> Any:
    """Add a webhook or an Apprise URL. Nothing is sent here: use ``/{id}/test``."""
    target = await notifications.create(
        owner,
        kind=body.kind,
        url=body.url,
        name=body.name,
        secret=body.secret,
        events=body.events,
        scope=body.scope,
        enabled=True if body.enabled is None else body.enabled,
    )
    return target.to_json()


@router.get("/{target_id}", response_model=NotificationOut, responses=error_responses(404))
async def get_target(target_id: Id, notifications: NotificationsDep, owner: OwnerDep) -> Any:
    return (await notifications.get(target_id, owner)).to_json()


@router.patch("/{target_id}", response_model=NotificationOut, responses=error_responses(404, 422))
async def change_target(
    target_id: Id, body: NotificationSettings, notifications: NotificationsDep, owner: OwnerDep
) -> Any:
    """Change some settings; a secret left out (or null) keeps the stored one."""
    changes = body.model_dump(exclude_unset=True)
    return (await notifications.update(target_id, owner, changes)).to_json()


@router.delete(
    "/{target_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(404)
)
async def delete_target(target_id: Id, notifications: NotificationsDep, owner: OwnerDep) -> None:
    await notifications.delete(target_id, owner)


@router.post(
    "/{target_id}/test", response_model=NotificationTestOut, responses=error_responses(404)
)
async def test_target(target_id: Id, notifications: NotificationsDep, owner: OwnerDep) -> Any:
    """Send a test event now (once, no retries) and say whether it arrived."""
    outcome = await notifications.test(target_id, owner)
    return {"ok": outcome.ok, "error": outcome.error, "status": outcome.status}
