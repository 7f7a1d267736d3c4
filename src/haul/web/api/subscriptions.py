"""REST routes for subscriptions: add, list, show, change, remove, check now, entries seen."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, status

from haul.errors import InvalidCursor
from haul.service.subscriptions import SubscriptionSpec
from haul.web.deps import OwnerDep, SubscriptionsDep
from haul.web.ids import Id, id_or_none
from haul.web.schemas.errors import error_responses
from haul.web.schemas.subscriptions import (
    CheckOut,
    EntryList,
    SubscriptionCreate,
    SubscriptionList,
    SubscriptionOut,
    SubscriptionSettings,
)

router = APIRouter(prefix="/subscriptions", tags=["subscriptions"])


@router.get("", response_model=SubscriptionList)
async def list_subscriptions(subscriptions: SubscriptionsDep, owner: OwnerDep) -> Any:
    """Your subscriptions (everyone's for an administrator), newest first."""
    return {"items": await subscriptions.visible(owner)}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SubscriptionOut,
    responses=error_responses(404, 409, 422),
)
async def create_subscription(
    body: SubscriptionCreate, subscriptions: SubscriptionsDep, owner: OwnerDep
) -> Any:
    """Subscribe to a playlist or channel page, an RSS or Atom feed, or an IPTV series
    (``iptv://PROVIDER/series/ID``). Nothing is fetched here: the first check comes with the
    next pass of a worker, or now with ``/{id}/check``."""
    given = body.model_dump(exclude_unset=True)
    spec = SubscriptionSpec(**{k: v for k, v in given.items() if v is not None or k == "paused"})
    return await subscriptions.create(owner, spec)


@router.get("/{subscription_id}", response_model=SubscriptionOut, responses=error_responses(404))
async def get_subscription(
    subscription_id: Id, subscriptions: SubscriptionsDep, owner: OwnerDep
) -> Any:
    return await subscriptions.get(subscription_id, owner)


@router.patch(
    "/{subscription_id}", response_model=SubscriptionOut, responses=error_responses(404, 422)
)
async def change_subscription(
    subscription_id: Id,
    body: SubscriptionSettings,
    subscriptions: SubscriptionsDep,
    owner: OwnerDep,
) -> Any:
    """Change some settings (``paused`` pauses and resumes). ``backfill`` matters only
    before the first check."""
    return await subscriptions.update(subscription_id, owner, body.model_dump(exclude_unset=True))


@router.delete(
    "/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(404)
)
async def delete_subscription(
    subscription_id: Id, subscriptions: SubscriptionsDep, owner: OwnerDep
) -> None:
    """Forget the subscription and what it saw; its downloads stay."""
    await subscriptions.delete(subscription_id, owner)


@router.post(
    "/{subscription_id}/check", response_model=CheckOut, responses=error_responses(404, 409, 429)
)
async def check_subscription(
    subscription_id: Id, subscriptions: SubscriptionsDep, owner: OwnerDep
) -> Any:
    """Check now, and say what the check did (a failed check's reason is in ``error``)."""
    done = await subscriptions.check(subscription_id, owner)
    outcome = done.outcome
    return {
        "subscription": done.subscription,
        "checked": outcome is not None,
        "downloads": outcome.downloads if outcome else [],
        "remembered": outcome.remembered if outcome else 0,
        "deferred": outcome.deferred if outcome else 0,
        "error": outcome.error if outcome else None,
    }


@router.get(
    "/{subscription_id}/entries", response_model=EntryList, responses=error_responses(404, 422)
)
async def subscription_entries(
    subscription_id: Id,
    subscriptions: SubscriptionsDep,
    owner: OwnerDep,
    limit: int = Query(default=100, ge=1, le=500),
    cursor: str | None = None,
) -> Any:
    """What the subscription saw, newest first, and the download each became."""
    before = None
    if cursor is not None:
        before = id_or_none(cursor)
        if before is None:
            raise InvalidCursor()
    items, after = await subscriptions.entries(subscription_id, owner, limit=limit, cursor=before)
    return {"items": items, "next_cursor": str(after) if after is not None else None}
