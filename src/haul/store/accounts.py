"""Named queries on accounts, their login sessions and their API tokens."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from haul.store.models import ApiToken, BrowserSession, User, utcnow


async def any_user(s: AsyncSession) -> bool:
    """Whether there is an account at all."""
    return await s.scalar(select(User.id).limit(1)) is not None


async def name_taken(s: AsyncSession, username: str) -> bool:
    """Whether an account has this name (letter case aside)."""
    taken = await s.scalar(select(User.id).where(func.lower(User.username) == username.lower()))
    return taken is not None


async def find_user(s: AsyncSession, username: str) -> User | None:
    """The account of this name (letter case and surrounding spaces aside)."""
    return await s.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))


async def all_users(s: AsyncSession) -> Sequence[User]:
    return (await s.scalars(select(User).order_by(User.id))).all()


async def password_hash(s: AsyncSession, user_id: int) -> str | None:
    return await s.scalar(select(User.password_hash).where(User.id == user_id))


async def set_user(s: AsyncSession, user_id: int, values: dict[str, Any]) -> None:
    """Write ``values`` on the account's row."""
    await s.execute(update(User).where(User.id == user_id).values(**values))


async def admins_left(s: AsyncSession, *, but: int) -> int:
    """Enabled administrators other than ``but``."""
    count = await s.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == "admin", User.disabled.is_(False), User.id != but)
    )
    return int(count or 0)


async def end_sessions(s: AsyncSession, user_id: int) -> None:
    """Every login session of the account ends."""
    await s.execute(delete(BrowserSession).where(BrowserSession.user_id == user_id))


async def end_session(s: AsyncSession, session_id: str) -> None:
    await s.execute(delete(BrowserSession).where(BrowserSession.id == session_id))


async def session_seen(s: AsyncSession, session_id: str) -> None:
    """The login session was used now."""
    await s.execute(
        update(BrowserSession).where(BrowserSession.id == session_id).values(last_seen_at=utcnow())
    )


async def session_with_user(
    s: AsyncSession, session_id: str
) -> Row[str | None, datetime, User] | None:
    """(secret hash, last seen, account) of a login session."""
    return (
        await s.execute(
            select(BrowserSession.secret_hash, BrowserSession.last_seen_at, User)
            .join(User, User.id == BrowserSession.user_id)
            .where(BrowserSession.id == session_id)
        )
    ).first()


async def revoke_tokens(s: AsyncSession, user_id: int) -> None:
    """The account's live API tokens are revoked (kept, marked)."""
    await s.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def delete_tokens(s: AsyncSession, user_id: int) -> None:
    """The account's API tokens are removed."""
    await s.execute(delete(ApiToken).where(ApiToken.user_id == user_id))


async def live_tokens(s: AsyncSession, user_id: int | None) -> Sequence[ApiToken]:
    """The live tokens of one account (None: of everyone)."""
    stmt = select(ApiToken).where(ApiToken.revoked_at.is_(None)).order_by(ApiToken.id)
    if user_id is not None:
        stmt = stmt.where(ApiToken.user_id == user_id)
    return (await s.scalars(stmt)).all()


async def token_with_user(s: AsyncSession, hashed: str) -> Row[int, datetime | None, User] | None:
    """(id, last used, account) of the live token with this hash."""
    return (
        await s.execute(
            select(ApiToken.id, ApiToken.last_used_at, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == hashed, ApiToken.revoked_at.is_(None))
        )
    ).first()


async def token_used(s: AsyncSession, token_id: int) -> None:
    """The API token was used now."""
    await s.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=utcnow()))
