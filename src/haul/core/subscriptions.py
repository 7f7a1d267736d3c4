"""Subscriptions: which entries of a listing become downloads, and when to look again (pure).

A subscription watches a listing (a playlist or channel page, an RSS or Atom feed, an IPTV
series) and downloads what is new in it. Each check lists the entries, and :func:`plan`
decides, from the keys already seen, what each *new* entry becomes:

- a download;
- remembered only (it will never be downloaded), with the reason: the first check's
  ``backfill`` (``none``: what exists now is only remembered; ``all``; or a number of newest
  entries), ``since`` (published before it), the title filter, or no link to download;
- left for the next check, when ``max_per_check`` downloads were chosen already (so a huge
  backfill arrives a batch per check, never as a flood).

Entries are taken newest first: by their publication dates when every entry has one, else in
the listing's own order (channels and feeds list the newest first).

When the next check comes: :func:`next_check` (the interval, plus a little jitter so that
subscriptions made together do not all check together) and :func:`retry_after` (after a
failed check: sooner at first, then less and less often, up to a cap, so a site that refuses
is not hammered). :func:`to_prune` says which files ``keep_last`` lets go.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import unquote, urlsplit

import regex

from haul.core.submit_options import IptvEntry
from haul.errors import InvalidSubscription

Kind = Literal["playlist", "feed", "iptv_series"]
KINDS: tuple[Kind, ...] = ("playlist", "feed", "iptv_series")

#: Why a new entry was only remembered.
Reason = Literal["backfill", "since", "since_unknown", "filter", "no_link", "refused"]

#: Minutes between checks: the default, the least and the most.
DEFAULT_INTERVAL = 60
MIN_INTERVAL = 5
MAX_INTERVAL = 7 * 24 * 60
#: A title filter is a regular expression of at most this many characters.
MAX_FILTER = 200
#: A title filter is matched against at most this many characters of a title, for at most
#: this many seconds a title and this many seconds a check (titles are anyone's text: a
#: filter that backtracks without end must not hold up everything else).
FILTERED_CHARS = 300
FILTER_TIMEOUT = 0.05
FILTER_BUDGET = 0.5
#: What a subscription whose title filter ran out of time says.
SLOW_FILTER = (
    "Its title filter is too slow: matching it took too long, so the titles it did not "
    "finish with were taken as not matching. Simplify the filter."
)
#: The first retry after a failed check, and the longest wait between retries.
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=24)

_FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/xml", "text/xml"}
)
#: Types that say nothing of what an answer is.
_UNSAID_TYPES = frozenset({"text/plain", "application/octet-stream", "binary/octet-stream"})
_IPTV_SERIES = re.compile(r"iptv://([^/?#]+)/series/(\d{1,18})/?")


@dataclass(frozen=True, slots=True)
class Rules:
    """What a subscription downloads of what is new."""

    #: ``none``, ``all`` or a number of newest entries (as text: ``"5"``).
    backfill: str = "none"
    since: datetime | None = None
    title_filter: str | None = None
    max_per_check: int | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry of a listing."""

    #: What identifies it in its listing for good (an extractor's id, a feed item's guid, an
    #: IPTV episode's id); the same entry listed again has the same key.
    key: str
    #: What its download fetches (None: nothing to download).
    url: str | None
    title: str | None = None
    published: datetime | None = None
    #: Its index in the listed page when it has no link of its own (fetched through the page),
    #: and its id there (what is found at that index later is downloaded only if it has it).
    playlist_index: int | None = None
    entry_id: str | None = None
    #: An IPTV series' episode: the catalogue entry its download is of.
    iptv: IptvEntry | None = None
    #: Its library item (an IPTV episode's, found or made before it is downloaded).
    media_id: int | None = None
    #: Why it cannot be downloaded (a link haul refuses), if so.
    refused: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    entry: Entry
    #: None: it is downloaded; else why it is only remembered.
    skipped: Reason | None = None

    @property
    def downloads(self) -> bool:
        return self.skipped is None


@dataclass(frozen=True, slots=True)
class Plan:
    """What a check records: every decided entry, and how many new ones wait for the next."""

    decisions: tuple[Decision, ...]
    deferred: int = 0
    #: The title filter ran out of time on some title (taken as not matching).
    slow_filter: bool = False

    @property
    def downloads(self) -> list[Entry]:
        return [d.entry for d in self.decisions if d.downloads]


def newest_first(entries: Sequence[Entry]) -> list[Entry]:
    """``entries`` newest first: by date when every one has a date, else as listed."""
    if entries and all(e.published is not None for e in entries):
        return sorted(entries, key=lambda e: e.published or datetime.min, reverse=True)
    return list(entries)


def plan(entries: Sequence[Entry], seen: Collection[str], *, first: bool, rules: Rules) -> Plan:
    """Decide what each entry of ``entries`` not in ``seen`` becomes (see the module);
    ``first``: the subscription's first check (``backfill`` applies)."""
    pattern = TitleFilter.of(rules.title_filter)
    newest = _backfill_count(rules.backfill)
    decisions: list[Decision] = []
    chosen = deferred = 0
    taken: set[str] = set()
    for position, entry in enumerate(newest_first(entries)):
        if entry.key in seen or entry.key in taken:
            continue
        taken.add(entry.key)
        reason = _skipped(entry, first and newest is not None and position >= newest, first, rules)
        if reason is None and pattern is not None and not pattern.matches(entry.title or ""):
            reason = "filter"
        if reason is None and rules.max_per_check is not None and chosen >= rules.max_per_check:
            deferred += 1
            continue
        if reason is None:
            chosen += 1
        decisions.append(Decision(entry, reason))
    return Plan(tuple(decisions), deferred, pattern is not None and pattern.slow)


def _skipped(entry: Entry, backfilled: bool, first: bool, rules: Rules) -> Reason | None:
    """Why a new entry is only remembered, the title filter aside (None: no reason)."""
    if entry.refused is not None:
        return "refused"
    if entry.url is None:
        return "no_link"
    if backfilled:
        return "backfill"
    if rules.since is None:
        return None
    if entry.published is not None:
        return "since" if entry.published < rules.since else None
    # Undated (flat channel listings often are): there at the first check, it may be of any
    # age; one that appears later is new.
    return "since_unknown" if first else None


class TitleFilter:
    """A title filter matched with time limits (see :data:`FILTER_TIMEOUT`): a title it does
    not finish with in time does not match, and once a check's :data:`FILTER_BUDGET` is spent
    no title matches any more; :attr:`slow` says whether either happened."""

    def __init__(self, pattern: regex.Pattern[str]) -> None:
        self.pattern = pattern
        self.slow = False
        self._left = FILTER_BUDGET

    @classmethod
    def of(cls, text: str | None) -> TitleFilter | None:
        pattern = title_pattern(text)
        return cls(pattern) if pattern is not None else None

    def matches(self, title: str) -> bool:
        if self._left <= 0:
            return False
        started = time.monotonic()
        try:
            found = self.pattern.search(
                title[:FILTERED_CHARS], timeout=min(FILTER_TIMEOUT, self._left)
            )
        except TimeoutError:
            self.slow = True
            return False
        finally:
            self._left -= time.monotonic() - started
        if self._left <= 0:
            self.slow = True
        return found is not None


def _backfill_count(backfill: str) -> int | None:
    """How many of the newest entries the first check downloads (None: all)."""
    if backfill == "all":
        return None
    if backfill == "none":
        return 0
    return int(backfill)


def check_backfill(value: str | int | None) -> str:
    """``backfill`` as stored: ``none``, ``all`` or a number; a sentence for anything else."""
    if value is None:
        return "none"
    text = str(value).strip().lower()
    if text in ("none", "all"):
        return text
    if text.isdigit() and int(text) <= 100_000:
        return "none" if int(text) == 0 else str(int(text))
    raise InvalidSubscription(
        {
            "backfill": 'backfill is "none" (only what is new from now on), "all", or a number '
            f"of newest entries up to 100000, not {str(value)[:40]!r}."
        }
    )


def title_pattern(text: str | None) -> regex.Pattern[str] | None:
    """The title filter, a regular expression matched anywhere in a title, case ignored
    (with the ``regex`` package: its matches can be given a time limit)."""
    if not text:
        return None
    return regex.compile(text, regex.IGNORECASE)


def check_title_filter(text: str | None) -> str | None:
    """The title filter as stored (None: none); a sentence when it cannot be used."""
    if text is None or not text.strip():
        return None
    if len(text) > MAX_FILTER:
        raise InvalidSubscription(
            {"title_filter": f"A title filter has at most {MAX_FILTER} characters."}
        )
    try:
        title_pattern(text)
    except (regex.error, ValueError, OverflowError) as exc:
        raise InvalidSubscription(
            {"title_filter": f"The title filter is not a regular expression haul can read: {exc}."}
        ) from None
    return text


def check_interval(minutes: int | None) -> int:
    if minutes is None:
        return DEFAULT_INTERVAL
    if not MIN_INTERVAL <= minutes <= MAX_INTERVAL:
        raise InvalidSubscription(
            {
                "interval_minutes": f"A subscription is checked every {MIN_INTERVAL} to "
                f"{MAX_INTERVAL} minutes (a week), not every {minutes}."
            }
        )
    return minutes


def check_positive(name: str, value: int | None, *, most: int = 100_000) -> int | None:
    if value is None:
        return None
    if not 1 <= value <= most:
        raise InvalidSubscription({name: f"{name} is a number from 1 to {most}, not {value}."})
    return value


def iptv_series(url: str) -> tuple[str, int] | None:
    """The provider (its name or id) and the series id of ``iptv://PROVIDER/series/ID``;
    None when ``url`` is no IPTV link; a sentence when it is one of another form."""
    if not url.lower().startswith("iptv://"):
        return None
    found = _IPTV_SERIES.fullmatch(url.strip())
    if found is None:
        raise InvalidSubscription(
            {
                "url": "An IPTV subscription is to a series: iptv://PROVIDER/series/ID, "
                "PROVIDER being the provider's name or number."
            }
        )
    return unquote(found.group(1)), int(found.group(2))


#: The schemes podcast apps' "subscribe" buttons use for a feed, and the web scheme each
#: stands for (``feed:https://...`` names its own).
FEED_SCHEMES = {"feed": "http", "itpc": "http", "pcast": "http", "podcast": "https"}


def feed_link(url: str) -> str | None:
    """The web link of a podcast app's feed link (``feed://host/show.xml``,
    ``feed:https://host/show.xml``, ``itpc://``, ``pcast://``, ``podcast://``); None for any
    other link."""
    scheme, colon, rest = url.strip().partition(":")
    web = FEED_SCHEMES.get(scheme.lower()) if colon else None
    if web is None:
        return None
    if rest.lower().startswith(("http://", "https://")):
        return rest
    return f"{web}:{rest}" if rest.startswith("//") else None


def kind_of(url: str, asked: str | None = None) -> Kind:
    """What a subscription's link is, from the link alone (a check may find that a page is a
    feed after all: :func:`is_feed`)."""
    if iptv_series(url) is not None:
        return "iptv_series"
    if asked is not None:
        if asked not in ("playlist", "feed"):
            raise InvalidSubscription(
                {"kind": f'kind is "playlist" or "feed" for a web link, not {asked[:40]!r}.'}
            )
        return "playlist" if asked == "playlist" else "feed"
    path = urlsplit(url).path.lower()
    if path.endswith((".rss", ".xml", ".atom")) or path.rstrip("/").endswith(("/feed", "/rss")):
        return "feed"
    return "playlist"


def may_be_feed(content_type: str | None) -> bool:
    """Whether an answer of this type may be a feed: a feed's own type, an XML or plain text
    one, or one that says nothing (no type, or a file server's ``application/octet-stream``
    for a name without an extension); its first bytes tell (:func:`is_feed`)."""
    kind = (content_type or "").split(";")[0].strip().lower()
    return not kind or kind in _FEED_TYPES or kind in _UNSAID_TYPES


def is_feed(content_type: str | None, start: bytes) -> bool:
    """Whether an answer is an RSS or Atom feed, by its type and its first bytes."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind in ("application/rss+xml", "application/atom+xml"):
        return True
    if not may_be_feed(kind):
        return False
    head = start[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<?xml", b"<rss", b"<feed")) and (b"<rss" in head or b"<feed" in head)


def next_check(now: datetime, interval_minutes: int, rng: random.Random | None = None) -> datetime:
    """When a subscription checked at ``now`` is checked next: one interval later, plus up to
    a tenth of it (at most ten minutes) so checks made together spread out."""
    interval = timedelta(minutes=interval_minutes)
    spread = min(interval / 10, timedelta(minutes=10)).total_seconds()
    return now + interval + timedelta(seconds=float((rng or random).uniform(0, spread)))


def retry_after(
    failures: int, interval_minutes: int, rng: random.Random | None = None
) -> timedelta:
    """How long after its ``failures``-th failed check in a row a subscription is checked
    again: a minute, then twice as long each time, up to four intervals (at least an hour, at
    most a day); a fifth of it more or less, at random."""
    cap = min(max(timedelta(minutes=4 * interval_minutes), timedelta(hours=1)), LONGEST_RETRY)
    wait = min(cap, FIRST_RETRY * (1 << min(max(failures - 1, 0), 30)))
    spread = wait.total_seconds() / 5
    return wait + timedelta(seconds=float((rng or random).uniform(-spread, spread)))


#: A subscription's completed download: its id, when its entry was seen, when it was
#: published (None: the listing did not say).
Kept = tuple[int, datetime, datetime | None]


def to_prune(kept: Sequence[Kept], keep_last: int | None) -> list[int]:
    """Which downloads of ``kept`` ``keep_last`` lets go: all but the newest ``keep_last``;
    none without it. Newest is seen last (an entry that appeared at a later check is newer);
    among those one check saw, the latest published, undated ones after the dated, in the
    listing's order (the lower id was listed first: newer)."""
    if keep_last is None:
        return []

    def newness(one: Kept) -> tuple[datetime, bool, datetime, int]:
        download_id, seen, published = one
        return (seen, published is not None, published or seen, -download_id)

    ordered = sorted(kept, key=newness, reverse=True)
    return [download_id for download_id, _, _ in ordered[keep_last:]]
