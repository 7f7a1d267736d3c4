"""Subscriptions: add, list, show, change, pause, check now, remove; what each saw.

Every interface (the API, the pages, ``haul subscriptions``) goes through
:class:`SubscriptionService`. A subscription is checked by a worker's
:class:`~haul.worker.subscriptions.Checker`; "check now" runs a check in this process when it
runs a worker (and answers with what it did), else makes the subscription due, for the next
pass of any worker. A check now lists a whole page, so it is bounded as a formats listing is:
one at a time per subscription, and each owner a few at once (``checks_at_once``); over either
it is refused (429) with a sentence. A check whose asker went away runs to its end (its
listing is bounded by the checker's timeout) and holds its owner's slot until then. Owners
see and touch only their own subscriptions; administrators all.

:class:`SubscriptionNews` is what a check tells: an event on the owner's channel (the pages
and the CLI follow it), a ``subscription.new`` notification per new download, and the files
``keep_last`` lets go. :class:`IptvSeries` lists an IPTV series and files each new episode
into the library (the series and its episodes are library items, as when a whole series is
downloaded from the catalogue).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from haul.core import subscriptions as rules
from haul.core.sources import iptv_source, parse_source
from haul.core.status import phase_status
from haul.core.submit_options import IptvEntry
from haul.core.text import printable
from haul.errors import Conflict, InvalidSubscription, NotFound, TooManyListings, UnknownProfile
from haul.events.bus import EventBus
from haul.iptv.catalog import SeriesInfo
from haul.notify import Notifier
from haul.notify.payload import summary_of
from haul.service.at_once import AtOnce
from haul.service.downloads import DownloadService
from haul.service.iptv import IptvService
from haul.service.iptv_downloads import episode_item, episode_label, series_item
from haul.service.media import MediaService
from haul.service.values import Owner
from haul.store import subscription_rows as q
from haul.store.database import Database
from haul.store.models import Download, Profile, Subscription, utcnow
from haul.store.subscriptions import Due
from haul.worker.subscriptions import Checker, Listing, Outcome

log = logging.getLogger(__name__)

#: The settings a change may name.
CHANGEABLE = frozenset(
    {
        "title",
        "profile",
        "interval_minutes",
        "backfill",
        "since",
        "title_filter",
        "max_per_check",
        "media_id",
        "keep_last",
        "paused",
    }
)
#: An entry's download status once its download was taken out of view.
REMOVED = "removed"
#: Entries listed at most per page.
ENTRIES_PAGE = 500


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionSpec:
    """A new subscription, as its owner asked for it."""

    url: str
    kind: str | None = None
    title: str | None = None
    profile: str | None = None
    interval_minutes: int | None = None
    backfill: str | int | None = None
    since: datetime | None = None
    title_filter: str | None = None
    max_per_check: int | None = None
    media_id: int | None = None
    keep_last: int | None = None
    paused: bool = False


@dataclass(frozen=True, slots=True)
class CheckDone:
    """What "check now" did: the subscription as it now is, and the check (None: another
    worker is checking it, or it waits for the next pass of a worker)."""

    subscription: dict[str, Any]
    outcome: Outcome | None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def view(
    row: Subscription,
    counts: tuple[int, int] = (0, 0),
    now: datetime | None = None,
    *,
    owner_name: str | None = None,
) -> dict[str, Any]:
    """A subscription as every interface shows it (``owner_name``: its owner as people read
    it, the owner key when not given)."""
    now = now or utcnow()
    return {
        "id": row.id,
        "url": row.url,
        "kind": row.kind,
        "title": row.title,
        "owner": row.owner_key,
        "owner_name": owner_name or row.owner_key,
        "profile": row.profile,
        "interval_minutes": row.interval_minutes,
        "backfill": row.backfill,
        "since": _iso(row.since),
        "title_filter": row.title_filter,
        "max_per_check": row.max_per_check,
        "media_id": row.media_id,
        "keep_last": row.keep_last,
        "paused": row.paused,
        "next_check_at": None if row.paused else _iso(row.next_check_at),
        "last_checked_at": _iso(row.last_checked_at),
        "last_error": row.last_error,
        "last_error_at": _iso(row.last_error_at),
        "failures": row.failures,
        "checking": row.lease_until is not None and row.lease_until > now,
        "entries": counts[0],
        "downloads": counts[1],
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
    }


class SubscriptionService:
    def __init__(
        self,
        db: Database,
        bus: EventBus,
        *,
        allow_private: bool,
        media: MediaService | None = None,
        iptv: IptvService | None = None,
        checker: Checker | None = None,
        checks_at_once: int = 2,
    ) -> None:
        self.db = db
        self.bus = bus
        self.allow_private = allow_private
        self.media = media
        self.iptv = iptv
        #: This process's checker (None: no worker runs here; a worker's pass checks).
        self.checker = checker
        #: Checks now each owner may have running at once.
        self.checks_at_once = checks_at_once
        #: Checks now running here: per owner, and which subscriptions.
        self._at_once = AtOnce()

    # -- read -------------------------------------------------------------------------------

    async def visible(self, owner: Owner) -> list[dict[str, Any]]:
        """The owner's subscriptions (everyone's for an administrator), newest first."""
        async with self.db.read() as s:
            rows = await q.visible(s, None if owner.is_admin else owner.key)
            counts = await q.counts(s, [r.id for r in rows])
            names = await q.owner_names(s, {r.owner_key for r in rows})
        return [view(r, counts.get(r.id, (0, 0)), owner_name=names.get(r.owner_key)) for r in rows]

    async def get(self, subscription_id: int, owner: Owner) -> dict[str, Any]:
        async with self.db.read() as s:
            row = await self._row(s, subscription_id, owner)
            counts = await q.counts(s, [row.id])
            names = await q.owner_names(s, [row.owner_key])
        return view(row, counts.get(row.id, (0, 0)), owner_name=names.get(row.owner_key))

    async def entries(
        self, subscription_id: int, owner: Owner, *, limit: int = 100, cursor: int | None = None
    ) -> tuple[list[dict[str, Any]], int | None]:
        """What the subscription saw, newest first, and the cursor of the next page."""
        limit = max(1, min(limit, ENTRIES_PAGE))
        async with self.db.read() as s:
            await self._row(s, subscription_id, owner)
            rows = await q.entries(s, subscription_id, limit=limit + 1, before=cursor)
        more = len(rows) > limit
        rows = rows[:limit]
        items = [
            {
                "id": r.id,
                "key": r.key,
                "title": r.title,
                "url": r.url,
                "published_at": _iso(_aware(r.published_at)),
                "seen_at": _iso(_aware(r.seen_at)),
                "download_id": r.download_id,
                "download_status": _entry_status(r),
                "skipped": r.skipped,
                "error": r.error,
            }
            for r in rows
        ]
        return items, (rows[-1].id if more and rows else None)

    async def _row(self, s: Any, subscription_id: int, owner: Owner) -> Subscription:
        row = await q.by_id(s, subscription_id)
        if row is None or not (owner.is_admin or row.owner_key == owner.key):
            raise NotFound(f"There is no subscription {subscription_id}.")
        return row

    # -- write ------------------------------------------------------------------------------

    async def create(self, owner: Owner, spec: SubscriptionSpec) -> dict[str, Any]:
        """Subscribe ``owner`` to a listing; its first check comes with the next pass of a
        worker (or now: :meth:`check`). Nothing is fetched here."""
        url, kind = await self._link(spec.url, spec.kind, owner)
        values = await self._checked(
            owner,
            {
                f.name: getattr(spec, f.name)
                for f in dataclasses.fields(spec)
                if f.name not in ("url", "kind")
            },
        )
        async with self.db.write() as s:
            existing = await q.same_url(s, owner.key, url)
            if existing is not None:
                raise Conflict(f"You are subscribed to this already: subscription {existing}.")
            now = utcnow()
            row = Subscription(
                owner_key=owner.key,
                user_id=owner.user_id,
                url=url,
                kind=kind,
                interval_minutes=values.pop("interval_minutes", rules.DEFAULT_INTERVAL),
                backfill=values.pop("backfill", "none"),
                paused=bool(values.pop("paused", False)),
                primed=False,
                failures=0,
                next_check_at=now,
                created_at=now,
                updated_at=now,
                **values,
            )
            s.add(row)
            await s.flush()
            names = await q.owner_names(s, [row.owner_key])
            shown = view(row, owner_name=names.get(row.owner_key))
        self._tell(shown, "created")
        return shown

    async def update(
        self, subscription_id: int, owner: Owner, changes: Mapping[str, Any]
    ) -> dict[str, Any]:
        unknown = sorted(set(changes) - CHANGEABLE)
        if unknown:
            raise InvalidSubscription({name: f"{name} cannot be changed." for name in unknown})
        values = await self._checked(owner, dict(changes))
        async with self.db.write() as s:
            row = await self._row(s, subscription_id, owner)
            interval_before = row.interval_minutes
            for name, value in values.items():
                setattr(row, name, value)
            if row.interval_minutes != interval_before and row.failures == 0:
                since = row.last_checked_at or utcnow()
                row.next_check_at = since + timedelta(minutes=row.interval_minutes)
            row.updated_at = utcnow()
            counts = await q.counts(s, [row.id])
            names = await q.owner_names(s, [row.owner_key])
            shown = view(row, counts.get(row.id, (0, 0)), owner_name=names.get(row.owner_key))
        self._tell(shown, "changed")
        return shown

    async def pause(self, subscription_id: int, owner: Owner, paused: bool) -> dict[str, Any]:
        return await self.update(subscription_id, owner, {"paused": paused})

    async def delete(self, subscription_id: int, owner: Owner) -> None:
        """Forget a subscription and what it saw (its downloads stay)."""
        async with self.db.write() as s:
            row = await self._row(s, subscription_id, owner)
            shown = view(row)
            await s.delete(row)
        self._tell(shown, "removed")

    async def check(self, subscription_id: int, owner: Owner) -> CheckDone:
        """Check a subscription now (see the module)."""
        async with self.db.write() as s:
            row = await self._row(s, subscription_id, owner)
            if row.paused:
                raise Conflict(f"Subscription {subscription_id} is paused: resume it to check it.")
            if self.checker is None:
                row.next_check_at = utcnow()  # due: the next pass of a worker checks it
        outcome = None
        if self.checker is not None:
            outcome = await self._check_now(self.checker, subscription_id, owner)
        return CheckDone(await self.get(subscription_id, owner), outcome)

    async def _check_now(
        self, checker: Checker, subscription_id: int, owner: Owner
    ) -> Outcome | None:
        """Run a check now within the limits (see the module)."""
        if self._at_once.busy(subscription_id):
            raise TooManyListings(
                f"Subscription {subscription_id} is being checked now already; what it finds "
                "shows on it when the check ends.",
                retry_after=5,
            )
        if (running := self._at_once.running(owner.key)) >= self.checks_at_once:
            raise TooManyListings(
                f"You are checking {running} subscriptions now already; "
                "ask again when one of them has answered.",
                retry_after=5,
            )
        work = self._at_once.start(
            owner.key, checker.check_now(subscription_id), item=subscription_id
        )
        # Shielded: an asker who goes away does not stop the check midway.
        return await asyncio.shield(work)

    # -- checks of input --------------------------------------------------------------------

    async def _link(self, raw: str, asked: str | None, owner: Owner) -> tuple[str, str]:
        """The subscription's link as stored, and its kind."""
        text = (raw or "").strip()
        series = rules.iptv_series(text)
        if series is not None:
            if self.iptv is None:
                raise InvalidSubscription({"url": "IPTV series cannot be subscribed to here."})
            provider = await self.iptv.get(series[0], owner)
            return f"iptv://{provider.id}/series/{series[1]}", "iptv_series"
        if (web := rules.feed_link(text)) is not None:  # a podcast app's feed:// link
            text, asked = web, asked or "feed"
        source = parse_source(text, allow_private=self.allow_private)
        if source.kind != "url":
            raise InvalidSubscription(
                {
                    "url": "A subscription is to a playlist or channel page, an RSS or Atom "
                    "feed, or an IPTV series (iptv://PROVIDER/series/ID); not to a torrent."
                }
            )
        return source.url, rules.kind_of(source.url, asked)

    async def _checked(self, owner: Owner, given: dict[str, Any]) -> dict[str, Any]:
        """The settings of ``given`` checked and as stored (a sentence per bad one)."""
        out: dict[str, Any] = {}
        problems: dict[str, str] = {}

        def take(name: str, check: Any) -> None:
            if name not in given:
                return
            try:
                out[name] = check(given[name])
            except InvalidSubscription as exc:
                problems.update(exc.problems)

        take("interval_minutes", rules.check_interval)
        take("backfill", rules.check_backfill)
        take("title_filter", rules.check_title_filter)
        take("max_per_check", lambda v: rules.check_positive("max_per_check", v))
        take("keep_last", lambda v: rules.check_positive("keep_last", v))
        take("since", _utc)
        take("paused", bool)
        take("title", lambda v: printable(v).strip()[:1000] or None if v else None)
        if problems:
            raise InvalidSubscription(problems)
        if "profile" in given:
            out["profile"] = await self._profile(given["profile"])
        if given.get("media_id") is not None:
            if self.media is None:
                raise NotFound(f"There is no media item {given['media_id']}.")
            await self.media.get(int(given["media_id"]), owner)
        if "media_id" in given:
            out["media_id"] = given["media_id"]
        return out

    async def _profile(self, name: str | None) -> str | None:
        if not name:
            return None
        async with self.db.read() as s:
            found = await s.scalar(select(Profile.id).where(Profile.name == name))
        if found is None:
            raise UnknownProfile(f"There is no profile named {name!r}.")
        return name

    def _tell(self, shown: dict[str, Any], action: str) -> None:
        self.bus.publish("subscription", 0, shown["owner"], action=action, subscription=shown)


def _entry_status(row: Any) -> str | None:
    """What became of an entry's download: its status, ``removed`` once it was taken out of
    view (by its owner, or by ``keep_last`` with its files), None without one."""
    if not row.phase:
        return None
    if row.hidden:
        return REMOVED
    return str(phase_status(row.phase, bool(row.desired_paused)))


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _aware(value: datetime | None) -> datetime | None:
    return _utc(value)


class SubscriptionNews:
    """What a check tells (see the module)."""

    def __init__(
        self,
        db: Database,
        bus: EventBus,
        downloads: DownloadService,
        notifier: Notifier | None = None,
    ) -> None:
        self.db = db
        self.bus = bus
        self.downloads = downloads
        self.notifier = notifier

    async def told(self, sub: Due, outcome: Outcome) -> None:
        async with self.db.read() as s:
            row = await q.by_id(s, sub.id)
            if row is None:
                return
            counts = await q.counts(s, [row.id])
            names = await q.owner_names(s, [row.owner_key])
            made = (
                list(
                    (
                        await s.scalars(select(Download).where(Download.id.in_(outcome.downloads)))
                    ).all()
                )
                if outcome.downloads
                else []
            )
        shown = view(row, counts.get(row.id, (0, 0)), owner_name=names.get(row.owner_key))
        self.bus.publish(
            "subscription",
            0,
            row.owner_key,
            action="checked",
            subscription=shown,
            downloads=outcome.downloads,
            error=outcome.error,
        )
        if self.notifier is None:
            return
        about = {"id": row.id, "title": row.title, "url": row.url}
        for download in sorted(made, key=lambda d: d.id):
            summary = dict(summary_of(download, "queued"))
            summary["subscription"] = about
            self.notifier.emit("subscription.new", row.owner_key, summary)

    async def prune(self, sub: Due, download_ids: list[int]) -> None:
        """Delete the files of downloads ``keep_last`` lets go (and take them out of view)."""
        everyone = Owner(is_admin=True)
        for download_id in download_ids:
            try:
                await self.downloads.cancel(download_id, everyone, delete_files=True, hide=True)
            except NotFound:
                continue


class IptvSeries:
    """An IPTV series' episodes as a subscription's listing, and their library items. What a
    listing read is kept for the check's :meth:`prepare` (one request per check), and
    forgotten when the check ends (:meth:`forget`, whether it downloads anything or not)."""

    def __init__(self, iptv: IptvService, media: MediaService) -> None:
        self.iptv = iptv
        self.media = media
        self._read: dict[int, SeriesInfo] = {}

    async def listing(self, sub: Due) -> Listing:
        provider_ref, series_id = _series_of(sub.url)
        owner = _owner_of(sub)
        provider = await self.iptv.get(provider_ref, owner)
        info = await self.iptv.series_info(provider.id, series_id, owner)
        self._read[sub.id] = info
        show = info.series
        entries = [
            rules.Entry(
                key=f"episode:{e.id}",
                url=iptv_source(provider.id, "episode", str(e.id), series_id=show.series_id).url,
                title=episode_label(show, e),
                iptv=IptvEntry(provider.id, "episode", str(e.id), e.season, e.episode_num),
            )
            for e in sorted(info.episodes, key=lambda e: (e.season, e.episode_num), reverse=True)
        ]
        return Listing("iptv_series", show.display_name, entries)

    def forget(self, sub: Due) -> None:
        self._read.pop(sub.id, None)

    async def prepare(self, sub: Due, entries: Sequence[rules.Entry]) -> list[rules.Entry]:
        """Each episode's library item (the series' too), found or made; entries of other
        kinds of subscriptions as they are."""
        if sub.kind != "iptv_series":
            return list(entries)
        info = self._read.pop(sub.id, None)
        if info is None:  # listed by another instance: read again
            await self.listing(sub)
            info = self._read.pop(sub.id)
        owner = _owner_of(sub)
        first = entries[0].iptv if entries else None
        if first is None:
            return list(entries)
        provider_id = first.provider_id
        series = await series_item(self.media, owner, provider_id, info.series)
        ready = []
        for entry in entries:
            assert entry.iptv is not None, "an IPTV series lists episodes"
            episode = info.episode(entry.iptv.ref)
            assert episode is not None, "listed from this very answer"
            item = await episode_item(self.media, owner, provider_id, info.series, episode, series)
            ready.append(dataclasses.replace(entry, media_id=item))
        return ready


def _series_of(url: str) -> tuple[str, int]:
    found = rules.iptv_series(url)
    assert found is not None, "an IPTV subscription's link names a series"
    return found


def _owner_of(sub: Due) -> Owner:
    return Owner(key=sub.owner_key, user_id=sub.user_id, is_admin=False)
