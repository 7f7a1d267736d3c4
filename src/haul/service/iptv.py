"""IPTV providers: configure, test, browse and search their VOD and series catalogues.

A provider is named by its id or its name (``ref``). The password goes in and never comes
out. Catalogue lists are fetched once per TTL per provider (:class:`CatalogueCache`) and
searched in memory; a series' details are asked for live.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import httpx

from haul.errors import Conflict, InputError, IptvNotFound, ProviderDisabled, ProviderError
from haul.iptv.cache import CatalogueCache
from haul.iptv.catalog import Account, Category, Series, SeriesInfo, VodInfo, VodStream
from haul.iptv.providers import Provider, ProviderSpec, check_spec, to_provider
from haul.iptv.search import Page, SearchIndex
from haul.service.values import Owner
from haul.store import iptv as q
from haul.store.database import Database
from haul.store.models import IptvProvider, utcnow

log = logging.getLogger(__name__)

CatalogueKind = Literal["vod", "series"]
SPEC_FIELDS = frozenset(f.name for f in dataclasses.fields(ProviderSpec))


@dataclass(frozen=True, slots=True)
class ProviderTest:
    """What connecting to a provider showed: ok with the account, or what is wrong."""

    ok: bool
    error: str | None = None
    code: str | None = None
    account: Account | None = None

    def to_json(self) -> dict[str, Any]:
        account = self.account
        return {
            "ok": self.ok,
            "error": self.error,
            "code": self.code,
            "status": account.status if account else None,
            "expires_at": _iso(account.expires_at) if account else None,
            "is_trial": account.is_trial if account else None,
            "active_connections": account.active_connections if account else None,
            "max_connections": account.max_connections if account else None,
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


class IptvService:
    def __init__(
        self,
        db: Database,
        http: httpx.AsyncClient,
        *,
        allow_private: bool = True,
        cache: CatalogueCache | None = None,
    ) -> None:
        self.db = db
        self.http = http
        self.allow_private = allow_private
        self.cache = cache or CatalogueCache()

    # -- configuration ---------------------------------------------------------------------

    async def providers(self, owner: Owner) -> list[Provider]:
        async with self.db.read() as s:
            rows = await q.all_rows(s, None if owner.is_admin else owner.key)
            return [to_provider(row) for row in rows]

    async def get(self, ref: str | int, owner: Owner) -> Provider:
        async with self.db.read() as s:
            return to_provider(await self._row(s, ref, owner))

    async def _row(self, s: Any, ref: str | int, owner: Owner) -> IptvProvider:
        row = await q.by_ref(s, ref)
        if row is None or not (owner.is_admin or row.owner_key == owner.key):
            raise IptvNotFound(f"There is no IPTV provider {str(ref)!r}.")
        return row

    async def create(self, spec: ProviderSpec, owner: Owner) -> Provider:
        spec = check_spec(spec, allow_private=self.allow_private)
        async with self.db.write() as s:
            if await q.by_name(s, spec.name) is not None:
                raise Conflict(f"An IPTV provider named {spec.name!r} already exists.")
            row = IptvProvider(**dataclasses.asdict(spec), owner_key=owner.key)
            s.add(row)
            await s.flush()
            provider = to_provider(row)
        log.info("IPTV provider %s added (id %d)", provider.name, provider.id)
        return provider

    async def update(self, ref: str | int, changes: dict[str, Any], owner: Owner) -> Provider:
        """Change some settings; a password of None keeps the stored one."""
        unknown = set(changes) - SPEC_FIELDS
        if unknown:
            raise InputError(f"Unknown provider settings: {', '.join(sorted(unknown))}.")
        changes = {k: v for k, v in changes.items() if not (k == "password" and v is None)}
        if any(changes.get(key) is None for key in changes):
            raise InputError("A provider setting cannot be set to null.")
        async with self.db.write() as s:
            row = await self._row(s, ref, owner)
            spec = dataclasses.replace(to_provider(row).spec, **changes)
            spec = check_spec(spec, allow_private=self.allow_private)
            if spec.name != row.name and await q.by_name(s, spec.name) is not None:
                raise Conflict(f"An IPTV provider named {spec.name!r} already exists.")
            for key, value in dataclasses.asdict(spec).items():
                setattr(row, key, value)
            row.updated_at = utcnow()
            await s.flush()
            provider = to_provider(row)
        self.cache.invalidate(provider.id)
        return provider

    async def delete(self, ref: str | int, owner: Owner) -> None:
        async with self.db.write() as s:
            row = await self._row(s, ref, owner)
            held = await q.open_downloads(s, row.id)
            if held:
                raise Conflict(
                    f"{row.name} still has {held} unfinished download{'s' if held > 1 else ''}; "
                    "cancel them first, or disable the provider instead of removing it."
                )
            provider_id = row.id
            await s.delete(row)
        self.cache.invalidate(provider_id)

    async def test(self, spec: ProviderSpec) -> ProviderTest:
        """Log in with these settings and say exactly what is wrong, if anything."""
        spec = check_spec(spec, allow_private=self.allow_private)
        return await self._test(Provider(0, spec))

    async def test_saved(
        self, ref: str | int, owner: Owner, password: str | None = None
    ) -> ProviderTest:
        provider = await self.get(ref, owner)
        if password:
            provider = dataclasses.replace(
                provider, spec=dataclasses.replace(provider.spec, password=password)
            )
        return await self._test(provider)

    async def _test(self, provider: Provider) -> ProviderTest:
        try:
            account = await provider.client(self.http).account()
        except ProviderError as exc:
            return ProviderTest(False, exc.message, exc.code)
        return ProviderTest(True, account=account)

    # -- browsing --------------------------------------------------------------------------

    async def _usable(self, ref: str | int, owner: Owner) -> Provider:
        provider = await self.get(ref, owner)
        if not provider.spec.enabled:
            raise ProviderDisabled(f"{provider.label} is disabled; enable it to browse it.")
        return provider

    async def categories(
        self, ref: str | int, kind: CatalogueKind, owner: Owner, *, refresh: bool = False
    ) -> list[Category]:
        provider = await self._usable(ref, owner)
        client = provider.client(self.http)
        load = client.vod_categories if kind == "vod" else client.series_categories
        found: list[Category] = await self.cache.get(
            provider.id, (kind, "categories"), load, refresh=refresh
        )
        return found

    async def _vod_index(self, provider: Provider, refresh: bool) -> SearchIndex[VodStream]:
        async def load() -> SearchIndex[VodStream]:
            streams = await provider.client(self.http).vod_streams()
            return SearchIndex(streams, _vod_key, lambda v: v.category_ids)

        index: SearchIndex[VodStream] = await self.cache.get(
            provider.id, "vod", load, refresh=refresh
        )
        return index

    async def _series_index(self, provider: Provider, refresh: bool) -> SearchIndex[Series]:
        async def load() -> SearchIndex[Series]:
            found = await provider.client(self.http).series()
            return SearchIndex(found, _series_key, lambda v: v.category_ids)

        index: SearchIndex[Series] = await self.cache.get(
            provider.id, "series", load, refresh=refresh
        )
        return index

    async def vod(
        self,
        ref: str | int,
        owner: Owner,
        *,
        query: str | None = None,
        category: str | None = None,
        limit: int = 50,
        offset: int = 0,
        refresh: bool = False,
    ) -> Page[VodStream]:
        """A page of the provider's films, searched by name and filtered by category."""
        provider = await self._usable(ref, owner)
        index = await self._vod_index(provider, refresh)
        return index.page(query, category, limit, offset)

    async def series(
        self,
        ref: str | int,
        owner: Owner,
        *,
        query: str | None = None,
        category: str | None = None,
        limit: int = 50,
        offset: int = 0,
        refresh: bool = False,
    ) -> Page[Series]:
        provider = await self._usable(ref, owner)
        index = await self._series_index(provider, refresh)
        return index.page(query, category, limit, offset)

    async def vod_info(self, ref: str | int, vod_id: int, owner: Owner) -> VodInfo:
        provider = await self._usable(ref, owner)
        return await provider.client(self.http).vod_info(vod_id)

    async def series_info(self, ref: str | int, series_id: int, owner: Owner) -> SeriesInfo:
        """A series with its seasons and episodes, asked for now. The provider's answer often
        lacks what its list says (the name, the year): that is filled from the list."""
        provider = await self._usable(ref, owner)
        info = await provider.client(self.http).series_info(series_id)
        own = info.series
        if own.year is None or own.name == f"Series {own.series_id}":
            try:
                listed = _find(await self._series_index(provider, False), series_id)
            except ProviderError:
                listed = None  # the details stand on their own
            if listed is not None:
                info = _fill(info, listed)
        return info


def _searchable(name: str, year: int | None) -> str:
    """The name searched: with the year, so "matrix 1999" finds "The Matrix"."""
    return name if year is None or str(year) in name else f"{name} {year}"


def _vod_key(stream: VodStream) -> str:
    return _searchable(stream.name, stream.year)


def _series_key(series: Series) -> str:
    return _searchable(series.name, series.year)


def _find(index: SearchIndex[Series], series_id: int) -> Series | None:
    return next((s for s in index.items if s.series_id == series_id), None)


def _fill(info: SeriesInfo, listed: Series) -> SeriesInfo:
    """The details' series with blanks filled from the catalogue list's entry."""
    own = info.series
    changes = {
        f.name: getattr(listed, f.name)
        for f in dataclasses.fields(Series)
        if getattr(own, f.name) in (None, (), "") and getattr(listed, f.name) not in (None, ())
    }
    if own.name.startswith("Series ") and own.name == f"Series {own.series_id}":
        changes.update(name=listed.name, title=listed.title)
    return dataclasses.replace(info, series=dataclasses.replace(own, **changes))
