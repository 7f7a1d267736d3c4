"""Storing submitted downloads, many at a time: the hottest write path haul has.

A batch costs a fixed number of statements whatever its size: one query for duplicates, one
for the queue ranks, one for the active counts (policy ``reject`` only), one multi-row INSERT
with RETURNING and one for the ``created`` events. Decisions inside the batch (a duplicate of an
earlier entry, the limit reached by an earlier entry, the next rank of the same owner) are
taken in memory, in submission order, exactly as if the entries had come one by one. A refused
entry writes nothing, so it fails alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from haul.core.admission import Limits, decide, next_rank
from haul.core.sites import per_rule, site_of
from haul.core.sources import Source
from haul.core.status import OPEN_PHASES, SLOT_PHASES, Phase
from haul.core.submit_options import DEFAULT_OPTIONS, SubmitOptions
from haul.errors import DuplicateDownload, HaulError, LimitExceeded
from haul.store.models import Download, DownloadEvent, Profile, utcnow

_DEDUPE_PHASES = [*(p.value for p in OPEN_PHASES), Phase.PARENT.value]
_SLOT_PHASES = [p.value for p in SLOT_PHASES]
_OPEN_PHASES = [p.value for p in OPEN_PHASES]


@dataclass(frozen=True, slots=True)
class NewDownload:
    """One download to store: its source, who asks for it, what they ask and what the service
    decided for it."""

    source: Source
    owner_key: str
    options: SubmitOptions = DEFAULT_OPTIONS
    owner_limit: int | None = None
    #: An anonymous visitor's: unfinished downloads one IP address may have. Set, it makes
    #: both limits strict: every unfinished download counts (queued and paused ones too) and
    #: one over a limit is refused, whatever the policy.
    ip_limit: int | None = None
    #: Who asks: their account, their browser session and network address, when known.
    user_id: int | None = None
    session_id: str | None = None
    ip: str | None = None
    #: The profile ``options.profile`` names (or the default profile when it names none).
    profile_id: int | None = None
    #: The client a torrent was routed to at submit (others are routed when admitted).
    routed_client: str | None = None
    #: An uploaded .torrent's bytes.
    torrent: bytes | None = None
    #: What the source calls itself (a .torrent's name): its title when the options give none.
    source_name: str | None = None
    #: Its media item may have no other unfinished download.
    media_exclusive: bool = False
    #: Its entry in the page of its source when it has no link of its own (a subscription's),
    #: and that entry's id (kept in its ``meta``: another entry there later is not fetched).
    playlist_index: int | None = None
    playlist_entry_id: str | None = None
    #: The subscription it was made by (kept in its ``meta``).
    subscription_id: int | None = None

    @property
    def exclusive_media(self) -> int | None:
        media_id = self.options.media_id
        return media_id if self.media_exclusive else None


@dataclass
class _Plan:
    """What the batch knows of the queue, updated as its entries are decided."""

    existing: dict[tuple[str, str], int]
    lowest: int | None
    owner_last: dict[str, int]
    active_total: int = 0
    active_by_owner: Counter[str] = field(default_factory=Counter)
    #: Transfers holding a slot per site rule (its domain).
    active_by_site: Counter[str] = field(default_factory=Counter)
    #: Unfinished downloads of the visitors in the batch, and of their addresses.
    open_by_owner: Counter[str] = field(default_factory=Counter)
    open_by_ip: Counter[str | None] = field(default_factory=Counter)
    #: Media items with an unfinished download: its id (None: stored by this batch).
    media_busy: dict[int, int | None] = field(default_factory=dict)

    def rank(self, item: NewDownload) -> int:
        if item.options.to_front:
            return self.lowest or 0
        return next_rank(self.owner_last.get(item.owner_key), self.lowest)

    def queued(self, owner: str, rank: int) -> None:
        self.owner_last[owner] = max(self.owner_last.get(owner, rank), rank)
        self.lowest = rank if self.lowest is None else min(self.lowest, rank)


def submit_many(
    session: Session, items: Sequence[NewDownload], *, limits: Limits, policy: str
) -> list[Download | HaulError]:
    """Store ``items``; each outcome is the stored download or the error that refused it."""
    if not items:
        return []
    plan = _plan(session, items, policy, limits)
    now = utcnow()
    outcomes: list[dict[str, Any] | HaulError | int] = []
    first_in_batch: dict[tuple[str, str], int] = {}
    for index, item in enumerate(items):
        key = (item.source.dedupe_key, item.owner_key)
        if key in plan.existing:
            outcomes.append(_duplicate(plan.existing[key]))
            continue
        if key in first_in_batch:
            outcomes.append(first_in_batch[key])  # resolved to its id once stored
            continue
        media_id = item.exclusive_media
        if media_id is not None and media_id in plan.media_busy:
            outcomes.append(_media_busy(media_id, plan.media_busy[media_id]))
            continue
        if item.ip_limit is not None:
            refusal = _visitor_refusal(item, plan)
            if refusal is not None:
                outcomes.append(refusal)
                continue
            plan.open_by_owner[item.owner_key] += 1
            plan.open_by_ip[item.ip] += 1
        phase = Phase.QUEUED
        if policy == "reject" and not item.options.paused:
            mine = plan.active_by_owner[item.owner_key]
            verdict = decide(limits, plan.active_total, mine, item.owner_limit)
            if not verdict.admitted:
                outcomes.append(LimitExceeded(verdict.reason))
                continue
            domain = limits.site_rule(site_of(item.source.url))
            # a site at its rule's limit is no refusal: the download waits for its turn
            if domain is None or plan.active_by_site[domain] < limits.per_site[domain]:
                phase = Phase.ADMITTED
                plan.active_total += 1
                plan.active_by_owner[item.owner_key] += 1
                if domain is not None:
                    plan.active_by_site[domain] += 1
        rank = plan.rank(item)
        if phase is Phase.QUEUED:
            plan.queued(item.owner_key, rank)
        first_in_batch[key] = index
        if media_id is not None:
            plan.media_busy[media_id] = None
        outcomes.append(_values(item, phase, rank, now))
    return _insert(session, outcomes, now)


def _plan(session: Session, items: Sequence[NewDownload], policy: str, limits: Limits) -> _Plan:
    keys = {i.source.dedupe_key for i in items}
    owners = {i.owner_key for i in items}
    found = session.execute(
        select(Download.dedupe_key, Download.owner_key, func.min(Download.id))
        .where(
            Download.dedupe_key.in_(keys),
            Download.owner_key.in_(owners),
            Download.phase.in_(_DEDUPE_PHASES),
            Download.canceled_at.is_(None),
            Download.parent_id.is_(None),
        )
        .group_by(Download.dedupe_key, Download.owner_key)
    )
    # One plain min() and one max() per owner, in one statement: each reads one end of an
    # index. (A GROUP BY over owners would walk every waiting row of each owner.)
    queued = Download.phase == Phase.QUEUED.value
    ordered = sorted(owners)
    ranks = (
        session.execute(
            select(
                select(func.min(Download.queue_rank)).where(queued).scalar_subquery(),
                *(
                    select(func.max(Download.queue_rank))
                    .where(queued, Download.owner_key == owner)
                    .scalar_subquery()
                    for owner in ordered
                ),
            )
        )
    ).one()
    lowest, *last = ranks
    plan = _Plan(
        existing={(k, o): int(i) for k, o, i in found.all()},
        lowest=None if lowest is None else int(lowest),
        owner_last={o: int(r) for o, r in zip(ordered, last, strict=True) if r is not None},
    )
    if policy == "reject":
        holders = Download.phase.in_(_SLOT_PHASES)
        plan.active_total = int(session.scalar(select(func.count()).where(holders)) or 0)
        counts = session.execute(
            select(Download.owner_key, func.count())
            .where(holders, Download.owner_key.in_(owners))
            .group_by(Download.owner_key)
        )
        plan.active_by_owner.update({o: int(c) for o, c in counts.all()})
        if limits.per_site:
            sites = session.execute(
                select(Download.site, func.count())
                .where(holders, Download.site.is_not(None))
                .group_by(Download.site)
            )
            by_host = {str(h): int(c) for h, c in sites.all()}
            plan.active_by_site.update(per_rule(by_host, limits.per_site))
    media = {m for i in items if (m := i.exclusive_media) is not None}
    if media:
        busy = session.execute(
            select(Download.media_id, func.min(Download.id))
            .where(Download.media_id.in_(media), Download.phase.in_(_OPEN_PHASES))
            .group_by(Download.media_id)
        )
        plan.media_busy.update({int(m): int(i) for m, i in busy.all() if m is not None})
    visitors = [i for i in items if i.ip_limit is not None]
    if visitors:
        _count_open(session, plan, visitors)
    return plan


def _count_open(
    session: Session, plan: _Plan, visitors: Sequence[NewDownload], *, but: int | None = None
) -> None:
    """How many unfinished downloads the batch's visitors, and their addresses, have."""
    unfinished = [
        Download.phase.in_([p.value for p in OPEN_PHASES]),
        Download.canceled_at.is_(None),
        Download.hidden.is_(False),
        Download.id != (but if but is not None else -1),
    ]
    owners = {i.owner_key for i in visitors}
    by_owner = session.execute(
        select(Download.owner_key, func.count())
        .where(*unfinished, Download.owner_key.in_(owners))
        .group_by(Download.owner_key)
    )
    plan.open_by_owner.update({o: int(c) for o, c in by_owner.all()})
    ips = {i.ip for i in visitors} - {None}
    if ips:
        by_ip = session.execute(
            select(Download.ip, func.count())
            .where(*unfinished, Download.ip.in_(ips))
            .group_by(Download.ip)
        )
        plan.open_by_ip.update({ip: int(c) for ip, c in by_ip.all()})


def _visitor_refusal(item: NewDownload, plan: _Plan) -> LimitExceeded | None:
    mine = plan.open_by_owner[item.owner_key]
    if item.owner_limit is not None and mine >= item.owner_limit:
        return LimitExceeded(
            f"Visitors of this instance may have {_downloads(item.owner_limit)} at a time and "
            f"you have {mine} unfinished; try again when it has finished, or cancel it."
        )
    assert item.ip_limit is not None
    ip = item.ip
    if plan.open_by_ip[ip] >= item.ip_limit:
        return LimitExceeded(
            f"This instance allows {_downloads(item.ip_limit)} at a time from one network "
            f"address, and {ip or 'yours'} has that many unfinished; try again when one has "
            "finished."
        )
    return None


def _downloads(count: int) -> str:
    return "one download" if count == 1 else f"{count} downloads"


def profile_ids(session: Session, asked: Sequence[str | None]) -> tuple[dict[str, int], int | None]:
    """The ids of the profiles named in ``asked`` (a name with no profile is left out), and
    the default profile's id when ``asked`` holds None (a download asking for none)."""
    names = {name for name in asked if name is not None}
    profiles: dict[str, int] = {}
    if names:
        found = session.execute(select(Profile.name, Profile.id).where(Profile.name.in_(names)))
        profiles = {name: int(i) for name, i in found.all()}
    default: int | None = None
    if None in asked:
        default = session.scalar(
            select(Profile.id).where(Profile.is_default.is_(True)).order_by(Profile.id)
        )
    return profiles, default


def option_columns(options: SubmitOptions, *, source_name: str | None = None) -> dict[str, Any]:
    """The columns of a new download that say what its submitter asked (``source_name``: the
    title when the options give none, or an empty one)."""
    iptv = options.iptv
    title = options.title
    if not title and source_name is not None:
        title = source_name
    return {
        "desired_paused": options.paused,
        "priority": options.priority,
        "media_id": options.media_id,
        "requested_client": options.client,
        "title": title,
        "format": options.format,
        "audio_format": options.audio_format,
        "audio_quality": options.audio_quality,
        "speed_limit": options.speed_limit,
        "iptv_provider_id": iptv.provider_id if iptv is not None else None,
        "iptv_kind": iptv.kind if iptv is not None else None,
        "iptv_ref": iptv.ref if iptv is not None else None,
        "season": iptv.season if iptv is not None else None,
        "episode": iptv.episode if iptv is not None else None,
    }


def _live_options(options: SubmitOptions) -> dict[str, Any]:
    """What a live recording reads of the submit (its ``meta``): its maximum duration."""
    return {} if options.max_duration is None else {"max_duration": options.max_duration}


def _values(item: NewDownload, phase: Phase, rank: int, now: Any) -> dict[str, Any]:
    return {
        "owner_key": item.owner_key,
        "user_id": item.user_id,
        "session_id": item.session_id,
        "ip": item.ip,
        "source_url": item.source.url,
        "site": site_of(item.source.url),
        "dedupe_key": item.source.dedupe_key,
        "source_blob": item.torrent,
        "profile_id": item.profile_id,
        "client": item.routed_client,
        **option_columns(item.options, source_name=item.source_name),
        "phase": phase.value,
        "queue_rank": rank,
        "created_at": now,
        "admitted_at": now if phase is Phase.ADMITTED else None,
        "playlist_index": item.playlist_index,
        "meta": {
            "source_kind": item.source.kind,
            **_live_options(item.options),
            **({"subscription_id": item.subscription_id} if item.subscription_id else {}),
            **({"playlist_entry_id": item.playlist_entry_id} if item.playlist_entry_id else {}),
        },
        "files": [],
        "hidden": False,
        "cancel_delete_partial": False,
        "retry_attempt": 0,
    }


def _insert(
    session: Session, outcomes: list[dict[str, Any] | HaulError | int], now: Any
) -> list[Download | HaulError]:
    rows = [o for o in outcomes if isinstance(o, dict)]
    ids: list[int] = []
    if rows:
        statement = insert(Download).returning(Download.id, sort_by_parameter_order=True)
        ids = list(session.execute(statement, rows).scalars().all())
        events = [{"download_id": i, "at": now, "kind": "created", "data": {}} for i in ids]
        session.execute(insert(DownloadEvent), events)
    stored = iter(ids)
    id_at: dict[int, int] = {}
    result: list[Download | HaulError] = []
    for index, outcome in enumerate(outcomes):
        if isinstance(outcome, dict):
            new_id = next(stored)
            id_at[index] = new_id
            result.append(Download(id=new_id, **outcome))
        elif isinstance(outcome, int):
            result.append(_duplicate(id_at[outcome]))
        else:
            result.append(outcome)
    return result


def _media_busy(media_id: int, existing_id: int | None) -> DuplicateDownload:
    if existing_id is None:
        return DuplicateDownload(
            f"Media item {media_id} is being added by another request at this moment; "
            f"{DuplicateDownload.AGAIN}."
        )
    return DuplicateDownload(
        f"Media item {media_id} is already being downloaded by download {existing_id}; "
        f"{DuplicateDownload.AGAIN}.",
        existing_id=existing_id,
    )


def _duplicate(existing_id: int) -> DuplicateDownload:
    return DuplicateDownload(
        f"This source is already in your queue as download {existing_id}.",
        existing_id=existing_id,
    )


def visitor_refusal(
    session: Session, owner_key: str, ip: str | None, limits: tuple[int | None, int], *, but: int
) -> HaulError | None:
    """Why an anonymous visitor may not reopen download ``but`` (a retry), or None.
    ``limits``: the visitor's own limit and their address's."""
    source = Source("url", "", "")
    item = NewDownload(source, owner_key, owner_limit=limits[0], ip_limit=limits[1], ip=ip)
    plan = _Plan(existing={}, lowest=None, owner_last={})
    _count_open(session, plan, [item], but=but)
    return _visitor_refusal(item, plan)
