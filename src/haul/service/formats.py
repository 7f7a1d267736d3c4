"""The formats a page offers, for a person about to choose one (``GET /api/v1/formats``,
``haul formats``, the add page's "List formats").

Listing runs yt-dlp's extraction (nothing is downloaded) in a thread, with the owner's site
cookies and under the address policy, exactly as a download's extraction does: a page cannot
lead haul to an address it would not download from. It is costly, so each owner may run a few
at once (``at_once``) and a number per minute (``per_minute``), anonymous visitors of a public
instance per address; over either it is refused (429) with a sentence. An answer is kept for
``keep`` seconds per owner and URL, so asking again (the add page's button pressed twice, a
script that lists before it adds) does not extract again. A listing that takes longer than
``timeout`` is answered with a sentence; its thread ends on its own (every network wait is
bounded too) and holds its owner's slot until then.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from haul.core.cookies import SiteCookies
from haul.core.formats import PageFormats
from haul.core.ratelimit import RateWindow
from haul.core.sources import check_site, parse_source
from haul.errors import (
    AddressRefused,
    ForbiddenAddress,
    FormatsUnavailable,
    TooManyListings,
    TransferError,
)
from haul.net import guard
from haul.service.at_once import AtOnce
from haul.service.values import Owner

#: Blocking: the formats of a URL (``timeout`` per network wait, the owner's cookies).
Lister = Callable[..., PageFormats]

#: Answers kept at most (the oldest go first).
KEPT_AT_MOST = 256


class FormatService:
    def __init__(
        self,
        *,
        addresses: guard.AddressPolicy | None,
        allow_private: bool,
        cookies: Callable[[str], Awaitable[SiteCookies | None]] | None = None,
        visitor_sites: tuple[str, ...] = (),
        at_once: int = 2,
        per_minute: int = 20,
        timeout: float = 60.0,
        keep: float = 300.0,
        lister: Lister | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.addresses = addresses
        self.allow_private = allow_private
        self.cookies = cookies
        self.visitor_sites = visitor_sites
        self.at_once = at_once
        self.per_minute = per_minute
        self.timeout = timeout
        self.keep = keep
        self._lister = lister
        self._clock = clock
        self._rate = RateWindow(per_minute, 60.0)
        self._at_once = AtOnce()
        self._kept: OrderedDict[tuple[str, str], tuple[float, PageFormats]] = OrderedDict()

    async def formats(self, url: str, owner: Owner) -> PageFormats:
        """The formats of the page or stream at ``url``, as ``owner`` may see them.

        Raises :class:`~haul.errors.InvalidURL` / :class:`ForbiddenAddress` for a URL haul would
        not download, :class:`TooManyListings` over the limits, :class:`FormatsUnavailable`
        with yt-dlp's reason (no video there, a playlist, the site's error, too slow).
        """
        source = parse_source(url, allow_private=self.allow_private)
        if source.kind != "url":
            raise FormatsUnavailable(
                "Formats are listed for web pages and streams; a magnet link or a torrent has none."
            )
        if owner.anonymous:
            check_site(source, self.visitor_sites)
        key = (owner.key, source.url)
        now = self._clock()
        kept = self._kept.get(key)
        if kept is not None and now - kept[0] < self.keep:
            return kept[1]
        who = _limited_as(owner)
        if (running := self._at_once.running(who)) >= self.at_once:
            raise TooManyListings(
                f"You are listing the formats of {running} pages already; "
                "ask again when one of them has answered.",
                retry_after=5,
            )
        wait = self._rate.take(who, now)
        if wait > 0:
            raise TooManyListings(
                f"You listed formats {self.per_minute} times in the last minute; "
                f"try again in {math.ceil(wait)} s.",
                retry_after=wait,
            )
        work = self._at_once.start(who, self._list(source.url, owner))
        try:
            found = await asyncio.wait_for(asyncio.shield(work), self.timeout)
        except TimeoutError:
            host = urlsplit(source.url).hostname or source.url
            raise FormatsUnavailable(
                f"{host} did not give its formats within {self.timeout:g} seconds; try again later."
            ) from None
        except AddressRefused as exc:
            raise ForbiddenAddress(exc.message) from exc
        except TransferError as exc:
            raise FormatsUnavailable(exc.message) from exc
        self._kept[key] = (self._clock(), found)
        self._kept.move_to_end(key)
        while len(self._kept) > KEPT_AT_MOST:
            self._kept.popitem(last=False)
        return found

    async def _list(self, url: str, owner: Owner) -> PageFormats:
        cookies = await self.cookies(owner.key) if self.cookies is not None else None
        lister = self._lister
        if lister is None:
            from haul.engine.ytdlp_formats import list_formats  # yt-dlp loads with the first

            lister = list_formats
        with guard.watch(self.addresses, url, links=True):
            return await asyncio.to_thread(lister, url, timeout=self.timeout, cookies=cookies)


def _limited_as(owner: Owner) -> str:
    """Whose limits a listing counts against: the owner's, but for anonymous visitors their
    address's (a new browser session is one click away; their address is not)."""
    if owner.anonymous and owner.ip:
        return f"ip:{owner.ip}"
    return owner.key
