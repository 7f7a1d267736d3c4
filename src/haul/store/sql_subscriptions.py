"""The subscription store over haul's database (SQLite and PostgreSQL), and the named queries
of the subscription service.

A check is recorded by one statement that inserts its entries and skips those already there
(``INSERT ... ON CONFLICT DO NOTHING RETURNING``: the unique key per subscription and entry
decides, inside the database), the downloads of the entries it inserted, and their links to
those downloads, all in one transaction. Claims lock the rows they lease and skip rows other
transactions locked on PostgreSQL; SQLite has one writer at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from haul.core.admission import Limits
from haul.core.sources import Source, SourceKind, _digest
from haul.core.status import Phase
from haul.core.submit_options import SubmitOptions
from haul.core.subscriptions import Entry, Kept, Rules
from haul.errors import UnknownProfile
from haul.store.database import Database
from haul.store.models import Download, Subscription, SubscriptionEntry, User
from haul.store.submits import NewDownload, profile_ids, submit_many
from haul.store.subscriptions import Checked, Due, Recorded, SubscriptionStore, stored_key

#: Rows of one multi-row INSERT (SQLite takes at most 32,766 parameters a statement).
_INSERT_PAGE = 500


def due_of(row: Subscription) -> Due:
    """What the checker needs of a stored subscription."""
    return Due(
        id=row.id,
        owner_key=row.owner_key,
        url=row.url,
        kind=row.kind,
        interval_minutes=row.interval_minutes,
        rules=Rules(
            backfill=row.backfill,
            since=row.since,
            title_filter=row.title_filter,
            max_per_check=row.max_per_check,
        ),
        title=row.title,
        user_id=row.user_id,
        profile=row.profile,
        media_id=row.media_id,
        keep_last=row.keep_last,
        primed=row.primed,
        failures=row.failures,
    )


class SqlSubscriptionStore:
    """:class:`~haul.store.subscriptions.SubscriptionStore` over a :class:`Database`."""

    def __init__(self, db: Database, limits: Callable[[], Limits] | None = None) -> None:
        self.db = db
        #: A subscription's downloads are queued (policy ``queue``): never refused for a limit.
        self.limits = limits or (lambda: Limits(1))

    async def claim_due(
        self,
        worker_id: str,
        limit: int,
        now: datetime,
        lease: timedelta,
        *,
        only: int | None = None,
    ) -> list[Due]:
        def claim(s: Session) -> list[Due]:
            query = _free(now).order_by(Subscription.next_check_at, Subscription.id).limit(limit)
            if only is not None:
                query = query.where(Subscription.id == only)
            else:
                query = query.where(Subscription.next_check_at <= now)
            if not self.db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            rows = list(s.scalars(query).all())
            for row in rows:
                row.lease_worker_id = worker_id
                row.lease_until = now + lease
            return [due_of(row) for row in rows]

        if only is None:  # an idle pass costs a read, never a turn at the write lock
            due = (
                _free(now)
                .where(Subscription.next_check_at <= now)
                .with_only_columns(Subscription.id)
            )
            if await self.db.query(lambda s: s.scalar(due.limit(1))) is None:
                return []
        return await self.db.run(claim)

    async def seen(self, subscription_id: int, keys: Collection[str]) -> set[str]:
        wanted = {stored_key(k): k for k in keys}

        def read(s: Session) -> set[str]:
            found: set[str] = set()
            listed = sorted(wanted)
            for start in range(0, len(listed), _INSERT_PAGE):
                page = listed[start : start + _INSERT_PAGE]
                found.update(
                    s.scalars(
                        select(SubscriptionEntry.key).where(
                            SubscriptionEntry.subscription_id == subscription_id,
                            SubscriptionEntry.key.in_(page),
                        )
                    ).all()
                )
            return {wanted[k] for k in found}

        return await self.db.query(read)

    async def record(self, checked: Checked) -> Recorded:
        # admission: the downloads' queue ranks are decided with every other submit's
        return await self.db.run(lambda s: self._record(s, checked), admission=True)

    def _record(self, s: Session, checked: Checked) -> Recorded:
        # Locked: a delete of the subscription waits for this check's entries, or comes first.
        sub = s.get(Subscription, checked.subscription_id, with_for_update=True)
        if sub is None:
            return Recorded()
        inserted = self._insert_entries(s, checked)
        entries = {stored_key(d.entry.key): d for d in checked.plan.decisions}
        made = [entries[k].entry for k in entries if k in inserted and entries[k].downloads]
        recorded = Recorded(remembered=len(inserted) - len(made))
        if made:
            recorded = self._downloads(s, sub, made, inserted, recorded.remembered)
        sub.kind = checked.kind
        sub.title = sub.title or checked.title
        sub.last_checked_at = checked.at
        sub.next_check_at = checked.next_at
        sub.last_error = checked.problem
        if checked.problem is not None:
            sub.last_error_at = checked.at
        sub.failures = 0
        sub.primed = True
        _unlease(sub, checked.worker_id)
        return recorded

    def _insert_entries(self, s: Session, checked: Checked) -> dict[str, int]:
        """Insert the check's entries, skipping those already there; the keys inserted, with
        their row ids."""
        rows = [
            {
                "subscription_id": checked.subscription_id,
                "key": stored_key(d.entry.key),
                "url": d.entry.url,
                "title": (d.entry.title or "")[:1000] or None,
                "published_at": d.entry.published,
                "seen_at": checked.at,
                "skipped": d.skipped,
            }
            for d in checked.plan.decisions
        ]
        dialect = sqlite if self.db.is_sqlite else postgresql
        inserted: dict[str, int] = {}
        for start in range(0, len(rows), _INSERT_PAGE):
            statement = (
                dialect.insert(SubscriptionEntry)
                .values(rows[start : start + _INSERT_PAGE])
                .on_conflict_do_nothing(index_elements=["subscription_id", "key"])
                .returning(SubscriptionEntry.key, SubscriptionEntry.id)
            )
            inserted.update({str(k): int(i) for k, i in s.execute(statement).all()})
        return inserted

    def _downloads(
        self,
        s: Session,
        sub: Subscription,
        entries: Sequence[Entry],
        inserted: dict[str, int],
        remembered: int,
    ) -> Recorded:
        """Queue a download of each of ``entries`` and link each entry to it."""
        profiles, default = profile_ids(s, [sub.profile])
        if sub.profile is not None and sub.profile not in profiles:
            raise UnknownProfile(
                f"There is no profile named {sub.profile!r} any more; choose another one for "
                "this subscription."
            )
        profile_id = profiles[sub.profile] if sub.profile is not None else default
        items = [
            NewDownload(
                _source(sub.id, entry),
                sub.owner_key,
                SubmitOptions(
                    profile=sub.profile,
                    media_id=entry.media_id if entry.iptv is not None else sub.media_id,
                    title=(entry.title or "")[:1000] or None,
                    iptv=entry.iptv,
                ),
                user_id=sub.user_id,
                profile_id=profile_id,
                playlist_index=entry.playlist_index,
                playlist_entry_id=entry.entry_id if entry.playlist_index is not None else None,
                subscription_id=sub.id,
            )
            for entry in entries
        ]
        outcomes = submit_many(s, items, limits=self.limits(), policy="queue")
        made: list[int] = []
        links: list[dict[str, Any]] = []
        refused: list[tuple[str, str]] = []
        for entry, outcome in zip(entries, outcomes, strict=True):
            row_id = inserted[stored_key(entry.key)]
            if isinstance(outcome, Download):
                made.append(outcome.id)
                links.append({"id": row_id, "download_id": outcome.id})
            else:
                refused.append((entry.key, outcome.message))
                links.append({"id": row_id, "skipped": "refused", "error": outcome.message})
        if links:
            s.execute(update(SubscriptionEntry), links)
        return Recorded(made, remembered + len(refused), refused)

    async def failed(
        self, subscription_id: int, worker_id: str, message: str, at: datetime, next_at: datetime
    ) -> None:
        def write(s: Session) -> None:
            sub = s.get(Subscription, subscription_id)
            if sub is None or sub.lease_worker_id != worker_id:
                return  # another worker checks it now (this one's lease ran out): its word
            sub.failures += 1
            sub.last_error = message
            sub.last_error_at = at
            sub.last_checked_at = at
            sub.next_check_at = next_at
            _unlease(sub, worker_id)

        await self.db.run(write)

    async def renew(self, subscription_id: int, worker_id: str, until: datetime) -> bool:
        def write(s: Session) -> bool:
            renewed = s.execute(
                update(Subscription)
                .where(
                    Subscription.id == subscription_id,
                    Subscription.lease_worker_id == worker_id,
                )
                .values(lease_until=until)
                .execution_options(synchronize_session=False)
            )
            return bool(getattr(renewed, "rowcount", 0))

        return await self.db.run(write)

    async def release(self, subscription_id: int, worker_id: str) -> None:
        def write(s: Session) -> None:
            sub = s.get(Subscription, subscription_id)
            if sub is not None:
                _unlease(sub, worker_id)

        await self.db.run(write)

    async def kept(self, subscription_id: int) -> list[Kept]:
        def read(s: Session) -> list[Kept]:
            rows = s.execute(
                select(
                    SubscriptionEntry.download_id,
                    SubscriptionEntry.seen_at,
                    SubscriptionEntry.published_at,
                )
                .join(Download, Download.id == SubscriptionEntry.download_id)
                .where(
                    SubscriptionEntry.subscription_id == subscription_id,
                    Download.phase == Phase.COMPLETED.value,
                    Download.hidden.is_(False),
                )
            ).all()
            return [
                (int(i), _aware(seen), None if published is None else _aware(published))
                for i, seen, published in rows
                if i is not None
            ]

        return await self.db.query(read)


def _aware(value: Any) -> datetime:
    """A timestamp as read (SQLite gives naive UTC)."""
    assert isinstance(value, datetime)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _free(now: datetime) -> Select[Subscription]:
    """Subscriptions not paused, not being checked (or whose check's lease ran out), and not
    of a disabled account (a disabled account downloads nothing)."""
    disabled = (
        select(User.id).where(User.id == Subscription.user_id, User.disabled.is_(True)).exists()
    )
    return select(Subscription).where(
        Subscription.paused.is_(False),
        or_(Subscription.lease_until.is_(None), Subscription.lease_until < now),
        ~disabled,
    )


def _unlease(sub: Subscription, worker_id: str) -> None:
    """Give back ``worker_id``'s lease (another worker's, taken after it ran out, stays)."""
    if sub.lease_worker_id == worker_id:
        sub.lease_worker_id = None
        sub.lease_until = None


def _source(subscription_id: int, entry: Entry) -> Source:
    """The source of an entry's download, deduplicated per subscription and entry (the same
    link downloaded elsewhere by its owner is not this entry's download)."""
    assert entry.url is not None, "entries without a link are only remembered"
    kind: SourceKind = "iptv" if entry.iptv is not None else "url"
    return Source(kind, entry.url, _digest(f"subscription:{subscription_id}:{entry.key}"))


if TYPE_CHECKING:  # the store has every operation of the protocol
    _conforms: type[SubscriptionStore] = SqlSubscriptionStore
