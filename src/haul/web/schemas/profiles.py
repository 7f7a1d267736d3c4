"""Bodies of the profiles API. Values are checked by :mod:`haul.core.profiles`, which answers
a wrong one with a sentence (the types here are loose on purpose, so those sentences reach
the caller instead of generic type errors)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from haul.core.profiles import CONTAINERS

NAME_HELP = "1 to 100 letters, digits, '.', '-' or '_' (used in URLs: /profiles/{name})"
FORMAT_HELP = "A yt-dlp format selector, e.g. bv*[height<=720]+ba/b (empty: yt-dlp's default)"
CONTAINER_HELP = f"Merge or remux into this container: {', '.join(CONTAINERS)} (empty: as is)"
SUBTITLES_HELP = 'Subtitle languages to fetch, e.g. ["en", "pt-BR"], or ["all"]'
TEMPLATE_HELP = (
    "A yt-dlp output template, a relative path inside the download folder, e.g. "
    "%(title)s [%(id)s].%(ext)s (empty: that one)"
)
TARGET_HELP = "A folder under the download root, e.g. videos/music (empty: the root)"
DEFAULT_HELP = "Used for downloads submitted without a profile; at most one profile is"


class ProfileChange(BaseModel):
    """Fields to change; a field left out keeps its value, null empties it."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, description=NAME_HELP, examples=["720p"])
    format: str | None = Field(default=None, description=FORMAT_HELP)
    container: str | None = Field(default=None, description=CONTAINER_HELP, examples=["mkv"])
    subtitles: list[str] | str | None = Field(default=None, description=SUBTITLES_HELP)
    output_template: str | None = Field(default=None, description=TEMPLATE_HELP)
    target_dir: str | None = Field(default=None, description=TARGET_HELP)
    is_default: bool | None = Field(default=None, description=DEFAULT_HELP)

    def given(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class ProfileCreate(ProfileChange):
    name: str = Field(description=NAME_HELP, examples=["720p"])
    is_default: bool = Field(default=False, description=DEFAULT_HELP)


class ProfileOut(BaseModel):
    id: int
    name: str
    format: str | None
    container: str | None
    subtitles: list[str]
    output_template: str | None
    target_dir: str | None
    is_default: bool
    created_at: datetime
    updated_at: datetime
