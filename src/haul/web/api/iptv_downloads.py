"""REST routes that download from an IPTV catalogue: a film, or episodes of a series."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from haul.core.submit_options import SubmitOptions
from haul.service import to_json
from haul.web.deps import IptvDownloadsDep, OwnerDep
from haul.web.schemas.downloads import DownloadOut
from haul.web.schemas.errors import error_responses

router = APIRouter(prefix="/iptv/providers/{provider}", tags=["iptv"])


class DownloadOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client: str | None = Field(default=None, max_length=64, description="e.g. an aria2")
    profile: str | None = Field(default=None, max_length=100)
    paused: bool = False
    force: bool = Field(
        default=False, description="Even if the film or episode has its file already"
    )

    def options(self) -> SubmitOptions:
        """What the download asks for (the film or episode and its media item: added by the
        service)."""
        return SubmitOptions(
            client=self.client, profile=self.profile, paused=self.paused, force=self.force
        )


class SeriesDownload(DownloadOptions):
    season: int | None = Field(default=None, ge=0, description="Only this season")
    episodes: list[int] = Field(
        default_factory=list, max_length=5000, description="Only these episode ids"
    )


class EpisodeRefused(BaseModel):
    episode_id: int
    label: str
    code: str
    detail: str


class SeriesDownloads(BaseModel):
    items: list[DownloadOut]
    errors: list[EpisodeRefused]


@router.post(
    "/vod/{stream_id}/download",
    status_code=status.HTTP_201_CREATED,
    response_model=DownloadOut,
    responses=error_responses(404, 409, 422, 429, 502),
)
async def download_film(
    provider: str,
    stream_id: int,
    service: IptvDownloadsDep,
    owner: OwnerDep,
    body: DownloadOptions | None = None,
) -> Any:
    """Download a film of the catalogue; it is added to the library as a movie."""
    options = (body or DownloadOptions()).options()
    return to_json(await service.movie(owner, provider, stream_id, options))


@router.post(
    "/series/{series_id}/download",
    status_code=status.HTTP_201_CREATED,
    response_model=SeriesDownloads,
    responses=error_responses(404, 422, 502),
)
async def download_series(
    provider: str,
    series_id: int,
    service: IptvDownloadsDep,
    owner: OwnerDep,
    body: SeriesDownload | None = None,
) -> dict[str, Any]:
    """Download a whole series, one season, or some episodes; each episode is added to the
    library under the series. Episodes that cannot be queued are listed with the reason."""
    wanted = body or SeriesDownload()
    created, refused = await service.series(
        owner,
        provider,
        series_id,
        wanted.options(),
        season=wanted.season,
        episode_ids=wanted.episodes,
    )
    return {
        "items": [to_json(t) for t in created],
        "errors": [
            {"episode_id": r.episode_id, "label": r.label, "code": r.code, "detail": r.detail}
            for r in refused
        ],
    }
