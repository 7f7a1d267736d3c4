"""What a subscription lists: a page's entries (yt-dlp's flat extraction), a feed's items
(feedparser), an IPTV series' episodes (handed in: the catalogue lives above the worker).

Every request goes through haul's address guard: the feed through the guarded HTTP client,
yt-dlp under :func:`haul.net.guard.watch`, as a download's extraction does. A link first
checked as a page is fetched once to see whether it is a feed after all (a podcast's address
rarely says so); later checks go straight to what it turned out to be.

Feed items: an item's enclosure (a podcast episode's file) is downloaded directly; an item
without one is its link, which haul resolves as any submitted link (a page goes to yt-dlp).
"""

from __future__ import annotations

import asyncio
import calendar
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from haul.core.cookies import SiteCookies
from haul.core.subscriptions import Entry, is_feed, may_be_feed
from haul.core.text import printable
from haul.engine.http_errors import network_error, status_error
from haul.engine.resolve import media_type
from haul.errors import AddressRefused, PermanentTransferError
from haul.net import guard
from haul.store.subscriptions import Due
from haul.worker.subscriptions import Lister, Listing

#: A feed larger than this is refused (bytes).
FEED_LIMIT = 20 << 20
#: Entries of a page listed at most.
MAX_ENTRIES = 10_000
#: yt-dlp's extractors of videos embedded in a plain page: they name each by its place on the
#: page (``page-1``, ``page-2``), so a video added at the top would take the id, and the
#: remembered key, of the one that was first. Such an entry is named and fetched by the link
#: of its media instead.
PLACED = frozenset({"HTML5MediaEmbed", "Generic"})

#: Why an entry of a page with neither a link nor an id of its own is not downloaded.
NO_IDENTITY = (
    "The listing gives this entry neither a link nor an id, so haul cannot be sure which video "
    "its download would fetch."
)

#: Blocking: yt-dlp's flat extraction of a URL (see :func:`haul.engine.ytdlp.extract`).
Extract = Callable[..., Any]


class Listings:
    """The lister of every kind of subscription (a :data:`~haul.worker.subscriptions.Lister`)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        addresses: guard.AddressPolicy | None,
        *,
        iptv: Lister | None = None,
        cookies: Callable[[str], Awaitable[SiteCookies | None]] | None = None,
        timeout: float = 60.0,
        max_entries: int = MAX_ENTRIES,
        extract: Extract | None = None,
    ) -> None:
        self.http = http
        self.addresses = addresses
        self.iptv = iptv
        self.cookies = cookies
        self.timeout = timeout
        self.max_entries = max_entries
        self._extract = extract

    async def __call__(self, sub: Due) -> Listing:
        if sub.kind == "iptv_series":
            if self.iptv is None:
                raise PermanentTransferError("IPTV series cannot be checked by this worker.")
            return await self.iptv(sub)
        if sub.kind == "feed":
            content_type, body = await self._fetch(sub.url)
            if not is_feed(content_type, body):
                raise PermanentTransferError(
                    f"{_host(sub.url)} did not answer with an RSS or Atom feed."
                )
            return await feed_listing(sub.url, body)
        if not sub.primed:  # the first check: is the page a feed after all?
            content_type, body = await self._fetch(sub.url)
            if is_feed(content_type, body):
                return await feed_listing(sub.url, body)
        return await self._page(sub)

    async def _fetch(self, url: str) -> tuple[str | None, bytes]:
        """GET ``url`` (through the guard), at most :data:`FEED_LIMIT` bytes of it."""
        try:
            async with self.http.stream("GET", url, timeout=self.timeout) as response:
                if response.status_code >= 400:
                    raise status_error(response)
                content_type = media_type(response.headers.get("content-type"))
                if not may_be_feed(content_type):
                    return content_type, b""  # a page (yt-dlp reads it), a video, ...
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > FEED_LIMIT:
                        raise PermanentTransferError(
                            f"The feed at {_host(url)} is larger than {FEED_LIMIT >> 20} MB."
                        )
                return content_type, bytes(body)
        except httpx.HTTPError as exc:
            raise network_error(exc, url) from exc
        except AddressRefused as exc:
            raise guard.reworded(exc, url) from exc

    async def _page(self, sub: Due) -> Listing:
        if self._extract is not None:
            extract = self._extract
        else:
            from haul.engine import ytdlp  # yt-dlp loads with the first listing

            extract = ytdlp.extract
        cookies = await self.cookies(sub.owner_key) if self.cookies is not None else None
        url = sub.url

        def work() -> Any:
            with guard.watch(self.addresses, url, links=True):
                return extract(
                    url, timeout=self.timeout, max_entries=self.max_entries, cookies=cookies
                )

        found = await asyncio.to_thread(work)
        if found.kind != "playlist":  # one video for now: an entry of its own
            title = printable(found.title) if found.title else None
            if found.extractor in PLACED and found.media_url:
                # the page's one embedded video, named by its link (see PLACED)
                entry = Entry(key=f"media:{found.media_url}", url=found.media_url, title=title)
                return Listing("playlist", None, [entry])
            one = f"{found.extractor or 'page'}:{found.id}" if found.id else f"page:{url}"
            return Listing("playlist", None, [Entry(key=one, url=url, title=title)])
        entries = []
        for item in found.entries:
            if (item.extractor or found.extractor) in PLACED and item.media_url:
                entries.append(
                    Entry(
                        key=f"media:{item.media_url}",
                        url=item.media_url,
                        title=printable(item.title) if item.title else None,
                        published=_from_timestamp(item.timestamp),
                    )
                )
                continue
            own = item.url if item.url and item.url.startswith(("http://", "https://")) else None
            key = f"{item.extractor or found.extractor or 'page'}:{item.id}" if item.id else own
            entries.append(
                Entry(
                    key=key or f"index:{item.index}",
                    url=own or url,
                    title=printable(item.title) if item.title else None,
                    published=_from_timestamp(item.timestamp),
                    playlist_index=None if own else item.index,
                    entry_id=None if own else item.id,
                    # Neither a link nor an id of its own: only its place in the page says
                    # which it is, and by the time its download starts that place may hold
                    # another video. Remembered with the reason, never downloaded.
                    refused=None if key is not None else NO_IDENTITY,
                )
            )
        return Listing("playlist", found.title, entries)


async def feed_listing(url: str, body: bytes) -> Listing:
    """The items of the RSS or Atom feed ``body`` (read at ``url``), newest first as listed."""
    import feedparser  # loaded with the first feed, not by every process at start

    parsed = await asyncio.to_thread(feedparser.parse, body)
    if parsed.get("bozo") and not parsed.get("entries"):
        raise PermanentTransferError(f"The feed at {_host(url)} cannot be read.")
    feed: Mapping[str, Any] = parsed.get("feed") or {}
    listed = (_feed_entry(url, item) for item in parsed.get("entries") or ())
    entries = [entry for entry in listed if entry is not None]
    title = feed.get("title")
    return Listing("feed", printable(title) if isinstance(title, str) else None, entries)


def _feed_entry(base: str, item: Mapping[str, Any]) -> Entry | None:
    """The entry of a feed item; None for an item with no id, link, enclosure, title or
    summary (there is nothing of it to download, and nothing to key it by)."""
    enclosure = next(
        (
            link.get("href")
            for link in item.get("enclosures") or ()
            if isinstance(link.get("href"), str) and link.get("href")
        ),
        None,
    )
    link = item.get("link") if isinstance(item.get("link"), str) else None
    target = enclosure or link
    if target is not None:
        target = urljoin(base, target.strip())
    key = item.get("id") or item.get("guid") or target or item.get("title") or item.get("summary")
    if not key:  # nothing to download, nothing to tell it from other items: left out
        return None
    title = item.get("title")
    return Entry(
        key=f"feed:{key}",
        url=target,
        title=printable(title) if isinstance(title, str) and title else None,
        published=_from_struct(item.get("published_parsed") or item.get("updated_parsed")),
    )


def _from_struct(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC) if value else None
    except (TypeError, ValueError, OverflowError):
        return None


def _from_timestamp(value: float | None) -> datetime | None:
    try:
        return datetime.fromtimestamp(value, UTC) if value is not None else None
    except (ValueError, OverflowError, OSError):
        return None


def _host(url: str) -> str:
    return urlsplit(url).hostname or url
