"""Named queries of the subscription service: its owners' subscriptions and what they saw."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from haul.core.owners import USER_PREFIX, owner_name
from haul.store.models import Download, Subscription, SubscriptionEntry, User


async def visible(session: AsyncSession, owner_key: str | None) -> list[Subscription]:
    """Every subscription (``owner_key`` None: an administrator's view) or the owner's own,
    newest first."""
    query = select(Subscription).order_by(Subscription.id.desc())
    if owner_key is not None:
        query = query.where(Subscription.owner_key == owner_key)
    return list((await session.scalars(query)).all())


async def owner_names(session: AsyncSession, owner_keys: Iterable[str]) -> dict[str, str]:
    """The owners of ``owner_keys`` as people read them (an account by its user name)."""
    keys = set(owner_keys)
    numbers = (k[len(USER_PREFIX) :] for k in keys if k.startswith(USER_PREFIX))
    ids = {int(n) for n in numbers if n.isascii() and n.isdigit()}
    users: dict[int, str] = {}
    if ids:
        rows = await session.execute(select(User.id, User.username).where(User.id.in_(ids)))
        users = {int(user_id): str(name) for user_id, name in rows.all()}
    return {key: owner_name(key, users) for key in keys}


async def by_id(session: AsyncSession, subscription_id: int) -> Subscription | None:
    return await session.get(Subscription, subscription_id)


async def same_url(session: AsyncSession, owner_key: str, url: str) -> int | None:
    """The owner's subscription to ``url``, if any."""
    return await session.scalar(
        select(Subscription.id)
        .where(Subscription.owner_key == owner_key, Subscription.url == url)
        .limit(1)
    )


async def counts(session: AsyncSession, ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """Entries seen and downloads made, per subscription of ``ids``."""
    if not ids:
        return {}
    rows = await session.execute(
        select(
            SubscriptionEntry.subscription_id,
            func.count(),
            func.count(SubscriptionEntry.download_id),
        )
        .where(SubscriptionEntry.subscription_id.in_(ids))
        .group_by(SubscriptionEntry.subscription_id)
    )
    return {int(i): (int(seen), int(made)) for i, seen, made in rows.all()}


async def entries(
    session: AsyncSession, subscription_id: int, *, limit: int, before: int | None
) -> list[Any]:
    """A page of what a subscription saw, newest first, each with its download's phase,
    whether it is paused and whether it was removed from view (None: no download, or it was
    deleted)."""
    query = (
        select(
            SubscriptionEntry.id,
            SubscriptionEntry.key,
            SubscriptionEntry.url,
            SubscriptionEntry.title,
            SubscriptionEntry.published_at,
            SubscriptionEntry.seen_at,
            SubscriptionEntry.download_id,
            SubscriptionEntry.skipped,
            SubscriptionEntry.error,
            Download.phase,
            Download.desired_paused,
            Download.hidden,
        )
        .outerjoin(Download, Download.id == SubscriptionEntry.download_id)
        .where(SubscriptionEntry.subscription_id == subscription_id)
        .order_by(SubscriptionEntry.id.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(SubscriptionEntry.id < before)
    return list((await session.execute(query)).all())
