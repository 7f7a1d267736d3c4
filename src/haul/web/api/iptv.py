"""REST routes for IPTV providers: configure and test them, browse and search their VOD and
series catalogues. ``{provider}`` is a provider's id or its name."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status

from haul.iptv.catalog import Episode, SeriesInfo, VodInfo
from haul.iptv.providers import ProviderSpec
from haul.iptv.search import Page
from haul.web.deps import IptvDep, OwnerDep
from haul.web.schemas.errors import error_responses
from haul.web.schemas.iptv import (
    CategoryList,
    ProviderCreate,
    ProviderList,
    ProviderOut,
    ProviderSettings,
    ProviderTestIn,
    ProviderTestOut,
    SeriesInfoOut,
    SeriesPage,
    VodInfoOut,
    VodPage,
)

router = APIRouter(prefix="/iptv", tags=["iptv"])


SearchQuery = Annotated[
    str | None, Query(max_length=200, description="Words to find in names (any case, accents)")
]
CategoryQuery = Annotated[str | None, Query(max_length=64, description="A category id")]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]
Refresh = Annotated[bool, Query(description="Fetch the catalogue again instead of the cache")]


def _spec(body: ProviderCreate) -> ProviderSpec:
    options = {k: v for k, v in body.given().items() if k in ("enabled", "timeout")}
    return ProviderSpec(
        body.name,
        body.url,
        body.username,
        body.password,
        **{k: v for k, v in options.items() if v is not None},
    )


def _page(page: Page[Any]) -> dict[str, Any]:
    return {
        "items": [dataclasses.asdict(item) for item in page.items],
        "total": page.total,
        "limit": page.limit,
        "offset": page.offset,
    }


def _episode(episode: Episode) -> dict[str, Any]:
    return {**dataclasses.asdict(episode), "code": episode.code}


def _series_info(info: SeriesInfo) -> dict[str, Any]:
    seasons = [
        {
            "number": s.number,
            "name": s.name,
            "cover": s.cover,
            "air_date": s.air_date,
            "episodes": [_episode(e) for e in s.episodes],
        }
        for s in info.seasons
    ]
    return {
        "series": dataclasses.asdict(info.series),
        "seasons": seasons,
        "episode_count": len(info.episodes),
    }


def _vod_info(info: VodInfo) -> dict[str, Any]:
    details = {k: v for k, v in dataclasses.asdict(info).items() if k != "stream"}
    return {**dataclasses.asdict(info.stream), **details}


# -- providers ----------------------------------------------------------------------------


@router.get("/providers", response_model=ProviderList)
async def list_providers(iptv: IptvDep, owner: OwnerDep) -> Any:
    """The configured providers (passwords never shown)."""
    return {"items": [p.to_json() for p in await iptv.providers(owner)]}


@router.post(
    "/providers",
    status_code=status.HTTP_201_CREATED,
    response_model=ProviderOut,
    responses=error_responses(409, 422),
)
async def create_provider(body: ProviderCreate, iptv: IptvDep, owner: OwnerDep) -> Any:
    """Add a provider. It is not contacted here: use ``/providers/test`` or ``/{id}/test``."""
    return (await iptv.create(_spec(body), owner)).to_json()


@router.post("/providers/test", response_model=ProviderTestOut, responses=error_responses(422))
async def test_settings(body: ProviderCreate, iptv: IptvDep) -> Any:
    """Log in with settings before saving them: says exactly what is wrong, if anything."""
    return (await iptv.test(_spec(body))).to_json()


@router.get("/providers/{provider}", response_model=ProviderOut, responses=error_responses(404))
async def get_provider(provider: str, iptv: IptvDep, owner: OwnerDep) -> Any:
    return (await iptv.get(provider, owner)).to_json()


@router.patch(
    "/providers/{provider}", response_model=ProviderOut, responses=error_responses(404, 409, 422)
)
async def change_provider(
    provider: str, body: ProviderSettings, iptv: IptvDep, owner: OwnerDep
) -> Any:
    """Change some settings; a password left out (or null) keeps the stored one."""
    return (await iptv.update(provider, body.given(), owner)).to_json()


@router.delete(
    "/providers/{provider}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(404, 409),
)
async def delete_provider(provider: str, iptv: IptvDep, owner: OwnerDep) -> None:
    """Remove a provider with no unfinished download (disable it otherwise)."""
    await iptv.delete(provider, owner)


@router.post(
    "/providers/{provider}/test", response_model=ProviderTestOut, responses=error_responses(404)
)
async def test_provider(
    provider: str, iptv: IptvDep, owner: OwnerDep, body: ProviderTestIn | None = None
) -> Any:
    """Log in to a configured provider now (optionally with another password, not saved)."""
    return (await iptv.test_saved(provider, owner, body.password if body else None)).to_json()


# -- browsing -----------------------------------------------------------------------------

BROWSE_ERRORS = error_responses(404, 409, 502)


@router.get(
    "/providers/{provider}/categories", response_model=CategoryList, responses=BROWSE_ERRORS
)
async def categories(
    provider: str,
    iptv: IptvDep,
    owner: OwnerDep,
    type: Literal["vod", "series"] = "vod",
    refresh: Refresh = False,
) -> Any:
    """The provider's VOD or series categories."""
    found = await iptv.categories(provider, type, owner, refresh=refresh)
    return {"items": [dataclasses.asdict(c) for c in found]}


@router.get("/providers/{provider}/vod", response_model=VodPage, responses=BROWSE_ERRORS)
async def vod(
    provider: str,
    iptv: IptvDep,
    owner: OwnerDep,
    q: SearchQuery = None,
    category: CategoryQuery = None,
    limit: Limit = 50,
    offset: Offset = 0,
    refresh: Refresh = False,
) -> Any:
    """A page of the provider's films, searched by name, filtered by category."""
    page = await iptv.vod(
        provider, owner, query=q, category=category, limit=limit, offset=offset, refresh=refresh
    )
    return _page(page)


@router.get(
    "/providers/{provider}/vod/{stream_id}", response_model=VodInfoOut, responses=BROWSE_ERRORS
)
async def vod_info(provider: str, stream_id: int, iptv: IptvDep, owner: OwnerDep) -> Any:
    """A film's details, asked of the provider now."""
    return _vod_info(await iptv.vod_info(provider, stream_id, owner))


@router.get("/providers/{provider}/series", response_model=SeriesPage, responses=BROWSE_ERRORS)
async def series(
    provider: str,
    iptv: IptvDep,
    owner: OwnerDep,
    q: SearchQuery = None,
    category: CategoryQuery = None,
    limit: Limit = 50,
    offset: Offset = 0,
    refresh: Refresh = False,
) -> Any:
    """A page of the provider's series, searched by name, filtered by category."""
    page = await iptv.series(
        provider, owner, query=q, category=category, limit=limit, offset=offset, refresh=refresh
    )
    return _page(page)


@router.get(
    "/providers/{provider}/series/{series_id}",
    response_model=SeriesInfoOut,
    responses=BROWSE_ERRORS,
)
async def series_info(provider: str, series_id: int, iptv: IptvDep, owner: OwnerDep) -> Any:
    """A series with its seasons and their episodes, asked of the provider now."""
    return _series_info(await iptv.series_info(provider, series_id, owner))
