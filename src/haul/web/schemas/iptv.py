"""Request and response bodies of the IPTV API. A password goes in, never comes out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ProviderSettings(BaseModel):
    """Settings shared by create and change (all optional on change)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=64, examples=["my-iptv"])
    url: str | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description="The panel's address; an M3U link (get.php?username=..) also works",
        examples=["http://provider.example:8080"],
    )
    username: str | None = Field(default=None, max_length=255)
    password: str | None = Field(
        default=None, max_length=1000, description="Write-only: never returned."
    )
    enabled: bool | None = None
    timeout: float | None = Field(default=None, gt=0, le=120, description="Seconds")

    def given(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class ProviderCreate(ProviderSettings):
    name: str = Field(min_length=1, max_length=64, examples=["my-iptv"])
    url: str = Field(min_length=1, max_length=1000, examples=["http://provider.example:8080"])
    username: str = Field(default="", max_length=255)
    password: str = Field(default="", max_length=1000, description="Write-only: never returned.")


class ProviderOut(BaseModel):
    id: int
    name: str
    url: str
    username: str
    has_password: bool
    enabled: bool
    timeout: float
    created_at: str | None
    updated_at: str | None


class ProviderList(BaseModel):
    items: list[ProviderOut]


class ProviderTestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str | None = Field(default=None, max_length=1000, description="Try, not saved")


class ProviderTestOut(BaseModel):
    ok: bool
    error: str | None = Field(description="What is wrong: unreachable, credentials, expired ...")
    code: str | None
    status: str | None = Field(description="The account's status, e.g. Active")
    expires_at: str | None
    is_trial: bool | None
    active_connections: int | None
    max_connections: int | None


class CategoryOut(BaseModel):
    id: str
    name: str
    parent_id: str | None


class CategoryList(BaseModel):
    items: list[CategoryOut]


class VodOut(BaseModel):
    stream_id: int
    name: str
    title: str
    year: int | None
    category_id: str | None
    category_ids: list[str]
    container_extension: str
    rating: float | None
    tmdb: int | None
    imdb: str | None
    added: datetime | None
    cover: str | None


class VodPage(BaseModel):
    items: list[VodOut]
    total: int = Field(description="Matches in all, across pages")
    limit: int
    offset: int


class VodInfoOut(VodOut):
    original_name: str | None
    plot: str | None
    genre: str | None
    director: str | None
    cast: str | None
    release_date: str | None
    duration: int | None = Field(description="Seconds")
    trailer: str | None = Field(description="A YouTube video id")
    backdrops: list[str]


class SeriesOut(BaseModel):
    series_id: int
    name: str
    title: str
    year: int | None
    category_id: str | None
    category_ids: list[str]
    tmdb: int | None
    imdb: str | None
    rating: float | None
    cover: str | None
    plot: str | None
    genre: str | None
    last_modified: datetime | None


class SeriesPage(BaseModel):
    items: list[SeriesOut]
    total: int
    limit: int
    offset: int


class EpisodeOut(BaseModel):
    id: int
    season: int
    episode_num: int
    code: str = Field(examples=["S01E02"])
    title: str
    container_extension: str
    duration: int | None = Field(description="Seconds")
    plot: str | None
    cover: str | None
    added: datetime | None
    tmdb: int | None


class SeasonOut(BaseModel):
    number: int
    name: str
    cover: str | None
    air_date: str | None
    episodes: list[EpisodeOut]


class SeriesInfoOut(BaseModel):
    series: SeriesOut
    seasons: list[SeasonOut]
    episode_count: int
