"""Bodies of the profiles API. Values are checked by :mod:`haul.core.profiles`, which answers
a wrong one with a sentence (the types here are loose on purpose, so those sentences reach
the caller instead of generic type errors)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from haul.core.extractor_args import EXAMPLE as EXTRACTOR_ARGS_EXAMPLE
from haul.core.profiles import AUDIO_FORMATS, CONTAINERS, REMOVABLE, SPONSORBLOCK_CATEGORIES

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
AUDIO_FORMAT_HELP = (
    f"Audio only, converted to: {', '.join(AUDIO_FORMATS)} (best: the best audio as it comes); "
    "null: not audio only. An audio-only profile has no container"
)
AUDIO_QUALITY_HELP = (
    "With audio_format: a VBR level from 0 (best) to 10, or a bitrate such as 192K "
    "(empty: yt-dlp's default, 5)"
)
EMBED_METADATA_HELP = "Write the page's title, uploader, date and description into the file's tags"
EMBED_THUMBNAIL_HELP = "Embed the page's thumbnail as the file's cover picture"
EMBED_CHAPTERS_HELP = "Embed the page's chapters into the file"
EMBED_SUBTITLES_HELP = (
    "Embed the subtitles (the languages of subtitles; none given: yt-dlp's choice) into the "
    "file (mp4, mkv, webm, mov)"
)
WRITE_THUMBNAIL_HELP = "Keep the page's thumbnail as an image file beside the media"
WRITE_INFO_JSON_HELP = "Keep yt-dlp's information about the page beside the media (.info.json)"
WRITE_NFO_HELP = "Write a Kodi/Jellyfin NFO (<name>.nfo: title, plot, date, uploader) beside it"
SPONSORBLOCK_REMOVE_HELP = f"SponsorBlock categories cut out of the file: {', '.join(REMOVABLE)}"
SPONSORBLOCK_MARK_HELP = (
    f"SponsorBlock categories marked as chapters in the file: {', '.join(SPONSORBLOCK_CATEGORIES)}"
)
PROXY_HELP = (
    "An http:// or https:// proxy that yt-dlp and the direct-file engine go through, e.g. "
    "http://user:password@proxy.lan:3128 (SOCKS is not supported). Shown with its user name "
    "and password masked; sending that masked form back keeps the proxy as it is"
)
CONCURRENT_FRAGMENTS_HELP = (
    "How many fragments of an HLS or DASH stream are fetched at once, 1 to 16 (default 4)"
)
EXTRACTOR_ARGS_HELP = (
    "yt-dlp extractor arguments: an object extractor -> argument -> list of values, e.g. "
    '{"youtube": {"player_client": ["web", "default"]}}, or yt-dlp\'s text form, e.g. '
    f"{EXTRACTOR_ARGS_EXAMPLE} (one extractor a line)"
)


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
    audio_format: str | None = Field(default=None, description=AUDIO_FORMAT_HELP, examples=["mp3"])
    audio_quality: str | int | None = Field(
        default=None, description=AUDIO_QUALITY_HELP, examples=["192K"]
    )
    embed_metadata: bool | None = Field(default=None, description=EMBED_METADATA_HELP)
    embed_thumbnail: bool | None = Field(default=None, description=EMBED_THUMBNAIL_HELP)
    embed_chapters: bool | None = Field(default=None, description=EMBED_CHAPTERS_HELP)
    embed_subtitles: bool | None = Field(default=None, description=EMBED_SUBTITLES_HELP)
    write_thumbnail: bool | None = Field(default=None, description=WRITE_THUMBNAIL_HELP)
    write_info_json: bool | None = Field(default=None, description=WRITE_INFO_JSON_HELP)
    write_nfo: bool | None = Field(default=None, description=WRITE_NFO_HELP)
    sponsorblock_remove: list[str] | str | None = Field(
        default=None, description=SPONSORBLOCK_REMOVE_HELP, examples=[["sponsor", "selfpromo"]]
    )
    sponsorblock_mark: list[str] | str | None = Field(
        default=None, description=SPONSORBLOCK_MARK_HELP, examples=[["intro", "outro"]]
    )
    proxy: str | None = Field(
        default=None, description=PROXY_HELP, examples=["http://proxy.lan:3128"]
    )
    extractor_args: dict[str, Any] | str | None = Field(
        default=None,
        description=EXTRACTOR_ARGS_HELP,
        examples=[{"youtube": {"player_client": ["web", "default"]}}],
    )
    concurrent_fragments: int | str | None = Field(
        default=None, description=CONCURRENT_FRAGMENTS_HELP, examples=[4]
    )

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
    audio_format: str | None
    audio_quality: str | None
    embed_metadata: bool
    embed_thumbnail: bool
    embed_chapters: bool
    embed_subtitles: bool
    write_thumbnail: bool
    write_info_json: bool
    write_nfo: bool
    sponsorblock_remove: list[str]
    sponsorblock_mark: list[str]
    proxy: str | None = Field(description="The proxy, its user name and password masked")
    extractor_args: dict[str, dict[str, list[str]]]
    concurrent_fragments: int = Field(description=CONCURRENT_FRAGMENTS_HELP)
    created_at: datetime
    updated_at: datetime
