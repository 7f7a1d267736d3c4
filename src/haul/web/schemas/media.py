"""Request and response bodies of the media library API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from haul.web.ids import Id

MediaKind = Literal["movie", "series", "episode", "trailer"]


class ExternalIds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    imdb: str | None = Field(default=None, max_length=16, examples=["tt0133093"])
    tmdb: int | None = Field(default=None, ge=1)
    tvdb: int | None = Field(default=None, ge=1)
    stream: str | None = Field(default=None, max_length=64, description="IPTV VOD stream id")
    series: str | None = Field(default=None, max_length=64, description="IPTV series id")
    episode: str | None = Field(default=None, max_length=64, description="IPTV episode id")

    def given(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class MediaCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: MediaKind
    title: str = Field(min_length=1, max_length=500, examples=["The Matrix"])
    year: int | None = Field(default=None, ge=1870, le=2200)
    parent_id: Id | None = Field(
        default=None, description="The series of an episode, the film or series of a trailer"
    )
    season: int | None = Field(default=None, ge=0, le=10000)
    episode: int | None = Field(default=None, ge=0, le=100000)
    external_ids: ExternalIds = Field(default_factory=ExternalIds)


class MediaChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=500)
    year: int | None = Field(default=None, ge=1870, le=2200)
    season: int | None = Field(default=None, ge=0, le=10000)
    episode: int | None = Field(default=None, ge=0, le=100000)
    external_ids: ExternalIds | None = None


class MediaOut(BaseModel):
    id: int
    kind: str
    title: str
    year: int | None
    parent_id: int | None
    season: int | None
    episode: int | None
    external_ids: dict[str, Any]
    provider_id: int | None
    created_at: datetime
    updated_at: datetime
    thumbnail_url: str | None = Field(
        default=None,
        description="haul's own address of the item's thumbnail (null: it has no media file)",
    )


class MediaFileOut(BaseModel):
    id: int
    download_id: int | None
    media_id: int | None
    path: str
    file_name: str
    size: int | None
    mtime: float | None
    is_media: bool
    error: str | None = Field(description="Why the file is not media, or is broken")
    container: str | None
    duration: float | None = Field(description="Seconds")
    video_codec: str | None
    width: int | None
    height: int | None
    audio_codec: str | None
    audio_channels: int | None
    subtitle_languages: list[str]
    profile: str | None
    youtube_id: str | None
    file_exists: bool
    probed_at: datetime
    original_path: str | None = Field(description="Where the download left it, when imported")
    import_mode: str | None = Field(description="hardlink, move, copy or existing")
    imported_at: datetime | None


class MediaDetail(MediaOut):
    parent: MediaOut | None
    children: list[MediaOut]
    download_ids: list[int]
    files: list[MediaFileOut]


class MediaList(BaseModel):
    items: list[MediaOut]
    next_cursor: str | None


class MediaFileList(BaseModel):
    items: list[MediaFileOut]


class Attach(BaseModel):
    model_config = ConfigDict(extra="forbid")

    media_id: Id | None = Field(description="The media item; null detaches the download")
    force: bool = Field(
        default=False,
        description="Attach even if the item has its file; a finished download already "
        "attached to the item is probed and filed again",
    )


class Reprocessing(BaseModel):
    download_ids: list[int] = Field(
        description="The downloads handed back to processing: their status is `processing` "
        "until their files are probed (and filed into the library) again"
    )


class RescanOut(BaseModel):
    checked: int
    missing: int
    back: int = Field(description="Files found again since the last look")


class Deleted(BaseModel):
    files_deleted: int
