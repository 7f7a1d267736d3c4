"""The wire client of the Xtream Codes API (``player_api.php``), one method per action.

It runs over an :class:`httpx.AsyncClient` it is given and never closes. Every failure is one
of haul's :class:`~haul.errors.ProviderError` (or :class:`~haul.errors.IptvNotFound`) with a
sentence a person understands. The credentials travel in the query string and in stream paths,
so no message made here ever holds a URL with them, foreign exceptions (which carry the URL)
are not chained, and the client's ``repr`` leaves them out.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from haul.core.numbers import as_int
from haul.errors import (
    AddressRefused,
    IptvNotFound,
    ProviderAuthFailed,
    ProviderBadAnswer,
    ProviderError,
    ProviderUnavailable,
)
from haul.iptv import parsing
from haul.iptv.catalog import Account, Category, Series, SeriesInfo, VodInfo, VodStream
from haul.iptv.redact import install_log_filter, redact
from haul.net.guard import reworded

T = TypeVar("T")
StreamPath = Literal["movie", "series"]

#: Bodies larger than this are decoded and parsed in a thread, not on the event loop (a
#: catalogue of 50,000 films is tens of megabytes of JSON).
BIG_BODY = 256 * 1024

install_log_filter()


def base_url(url: str) -> str:
    """The panel's address from what a person pasted: the panel URL, its ``player_api.php``
    or an M3U link (``get.php?...``); without query, fragment or trailing slash."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    for page in ("/player_api.php", "/get.php", "/panel_api.php", "/xmltv.php"):
        if path.lower().endswith(page):
            path = path[: -len(page)]
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme.lower(), netloc, path, "", ""))


class XtreamClient:
    """One provider account: ``label`` names it in messages ("IPTV provider 'acme'")."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        url: str,
        username: str,
        password: str,
        *,
        timeout: float = 10.0,
        label: str = "The IPTV provider",
    ) -> None:
        self.http = http
        self.base = base_url(url)
        self._username = username
        self._password = password
        self.timeout = timeout
        self.label = label

    def __repr__(self) -> str:
        return f"XtreamClient({self.base!r})"

    # -- actions ---------------------------------------------------------------------------

    async def account(self) -> Account:
        """The account (``user_info``); raises :class:`ProviderAuthFailed` with a sentence
        when the credentials are refused or the account is expired, banned or disabled."""
        data = await self._call(None)
        with self._named():
            return parsing.parse_account(data)

    async def vod_categories(self) -> list[Category]:
        return await self._parse(parsing.parse_categories, "get_vod_categories")

    async def vod_streams(self, category_id: str | None = None) -> list[VodStream]:
        params = {"category_id": category_id} if category_id else {}
        return await self._parse(parsing.parse_vod_streams, "get_vod_streams", params)

    async def vod_info(self, vod_id: int | str) -> VodInfo:
        data = await self._call("get_vod_info", {"vod_id": str(vod_id)})
        with self._named():
            return parsing.parse_vod_info(data, vod_id)

    async def series_categories(self) -> list[Category]:
        return await self._parse(parsing.parse_categories, "get_series_categories")

    async def series(self, category_id: str | None = None) -> list[Series]:
        params = {"category_id": category_id} if category_id else {}
        return await self._parse(parsing.parse_series_list, "get_series", params)

    async def series_info(self, series_id: int | str) -> SeriesInfo:
        data = await self._call("get_series_info", {"series_id": str(series_id)})
        with self._named():
            return parsing.parse_series_info(data, series_id)

    def stream_url(self, kind: StreamPath, ref: int | str, extension: str) -> str:
        """The URL of a film (``movie``) or an episode (``series``). It holds the
        credentials: hand it to the engine, never to a log, an event or the database."""
        if kind not in ("movie", "series"):
            raise ValueError(f"kind is 'movie' or 'series', not {kind!r}")
        ext = parsing.as_extension(extension) or parsing.DEFAULT_EXTENSION
        user = quote(self._username, safe="")
        secret = quote(self._password, safe="")
        return f"{self.base}/{kind}/{user}/{secret}/{quote(str(ref), safe='')}.{ext}"

    def scrub(self, text: str) -> str:
        """``text`` without this account's credentials."""
        return redact(text, (self._username, self._password))

    # -- the wire --------------------------------------------------------------------------

    @contextmanager
    def _named(self) -> Iterator[None]:
        """Parsers speak of "The provider"; name this one in what they raise."""
        try:
            yield
        except (ProviderError, IptvNotFound) as exc:
            generic = "The provider"
            if exc.message.startswith(generic):
                exc.message = self.label + exc.message[len(generic) :]
                exc.args = (exc.message,)
            raise

    async def _parse(
        self, parse: Callable[[Any], T], action: str, params: dict[str, str] | None = None
    ) -> T:
        data = await self._call(action, params)
        with self._named():
            if isinstance(data, list) and len(data) > 2000:
                return await asyncio.to_thread(parse, data)
            return parse(data)

    async def _call(self, action: str | None, params: dict[str, str] | None = None) -> Any:
        query = {"username": self._username, "password": self._password}
        if action is not None:
            query["action"] = action
        query.update(params or {})
        try:
            response = await self.http.get(
                f"{self.base}/player_api.php", params=query, timeout=self.timeout
            )
        except AddressRefused as exc:  # the client's transport checks where it connects
            refusal = ProviderError(f"{self.label} cannot be asked: {self._refusal(exc)}")
            refusal.code = exc.code  # permanent: asking again goes to the same place
            raise refusal from None
        except httpx.TimeoutException:
            raise ProviderUnavailable(
                f"{self.label} did not answer within {self.timeout:g} s."
            ) from None
        except httpx.TransportError as exc:
            raise ProviderUnavailable(
                f"{self.label} cannot be reached at {self.base}: {self._why(exc)}."
            ) from None
        except httpx.HTTPError as exc:
            raise ProviderBadAnswer(
                f"{self.label} cannot be asked at {self.base}: {self._why(exc)}."
            ) from None
        self._check_status(response.status_code)
        try:
            if len(response.content) > BIG_BODY:
                data = await asyncio.to_thread(json.loads, response.content)
            else:
                data = json.loads(response.content)
        except ValueError:
            raise ProviderBadAnswer(
                f"{self.label} answered with something that is not JSON; "
                f"is {self.base} the address of an Xtream Codes panel?"
            ) from None
        if isinstance(data, dict) and action is not None:
            user = data.get("user_info")
            if isinstance(user, dict) and as_int(user.get("auth")) == 0:
                raise ProviderAuthFailed(f"{self.label} refused the username or password.")
        return data

    def _check_status(self, status: int) -> None:
        if status < 400:
            return
        if status in (401, 403):
            raise ProviderAuthFailed(
                f"{self.label} refused the username or password (HTTP {status})."
            )
        if status == 429 or status >= 500:
            raise ProviderUnavailable(
                f"{self.label} is overloaded or failing (HTTP {status}); try again later."
            )
        if status == 404:
            raise ProviderBadAnswer(
                f"{self.label} has no Xtream Codes API at {self.base} (HTTP 404); check the URL."
            )
        raise ProviderBadAnswer(f"{self.label} refused the request (HTTP {status}).")

    def _refusal(self, exc: AddressRefused) -> str:
        """Why the panel may not be asked, worded for its address (no credentials in it)."""
        return self.scrub(reworded(exc, self.base).message)

    def _why(self, exc: Exception) -> str:
        text = str(exc).strip() or type(exc).__name__
        return self.scrub(text).rstrip(".")
