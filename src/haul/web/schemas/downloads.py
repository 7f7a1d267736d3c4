"""Request and response bodies of the REST API (the OpenAPI schema is generated from these)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from haul.core.bandwidth import parse_rate
from haul.core.profiles import AUDIO_FORMATS, FORMAT_MAX, check_choice
from haul.core.submit_options import PRIORITY_HIGHEST, PRIORITY_LOWEST, SubmitOptions
from haul.core.tracking import Tracked
from haul.web.ids import Id
from haul.web.schemas.derived import model_of

MAX_URLS_PER_REQUEST = 1000
SPEED_LIMIT_DESCRIPTION = (
    "This download's own speed limit: bytes per second, or a text such as "
    '"2M", "500K", "1.5MB/s"; null, 0 or "none": none (the global and per-owner limits '
    "still apply). Followed by a running transfer within a second or two, on the built-in "
    "engine or an external client."
)


class DownloadCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(
        default=None, max_length=8192, description="One source URL or magnet link"
    )
    urls: list[str] | None = Field(
        default=None, max_length=MAX_URLS_PER_REQUEST, description="Several sources at once"
    )
    profile: str | None = Field(default=None, max_length=100)
    client: str | None = Field(default=None, max_length=64)
    media_id: Id | None = Field(default=None, description="The media item it is for")
    force: bool = Field(
        default=False,
        description="Download even if the media item has its file or is being downloaded",
    )
    paused: bool = False
    priority: int = Field(default=0, ge=PRIORITY_LOWEST, le=PRIORITY_HIGHEST)
    title: str | None = Field(default=None, max_length=1000)
    format: str | None = Field(
        default=None,
        max_length=FORMAT_MAX,
        description="A yt-dlp format selector for this download instead of its profile's: a "
        "format id from GET /formats (`hls-720`), or a selector (`bv*[height<=480]+ba/b`)",
    )
    audio_format: str | None = Field(
        default=None,
        max_length=16,
        description="Audio only, for this download: convert to "
        + ", ".join(AUDIO_FORMATS)
        + " instead of the profile's choice",
    )
    audio_quality: str | None = Field(
        default=None,
        max_length=16,
        description="With audio_format: a VBR level 0 (best) to 10, or a bitrate such as 192K",
    )
    max_duration: float | None = Field(
        default=None,
        gt=0,
        le=7 * 86400,
        description="A live stream's recording ends after this many seconds of media",
    )
    speed_limit: int | str | None = Field(
        default=None,
        description=SPEED_LIMIT_DESCRIPTION,
        examples=["2M"],
    )

    @field_validator("speed_limit", mode="before")
    @classmethod
    def _speed(cls, value: Any) -> int | None:
        return speed_limit(value)

    @field_validator("urls", mode="before")
    @classmethod
    def _not_too_many(cls, value: Any) -> Any:
        if isinstance(value, list) and len(value) > MAX_URLS_PER_REQUEST:
            raise PydanticCustomError(
                "too_many_urls",
                "at most {limit} links per request; this one has {count} (send them in parts)",
                {"limit": MAX_URLS_PER_REQUEST, "count": len(value)},
            )
        return value

    @model_validator(mode="after")
    def _one_of(self) -> DownloadCreate:
        if (self.url is None) == (self.urls is None):
            raise ValueError("give either 'url' or 'urls'")
        if self.urls is not None and not self.urls:
            raise ValueError("'urls' is empty")
        return self

    def options(self) -> SubmitOptions:
        """What each link asks for (a title only for one link: several do not share one)."""
        return SubmitOptions(
            profile=self.profile,
            client=self.client,
            media_id=self.media_id,
            force=self.force,
            paused=self.paused,
            priority=self.priority,
            title=self.title if self.url is not None else None,
            **choice(self.format, self.audio_format, self.audio_quality),
            max_duration=self.max_duration,
            speed_limit=self.speed_limit if isinstance(self.speed_limit, int) else None,
        )


class DownloadChange(BaseModel):
    """What a PATCH of a download changes."""

    model_config = ConfigDict(extra="forbid")

    speed_limit: int | str | None = Field(description=SPEED_LIMIT_DESCRIPTION, examples=["1M"])

    @field_validator("speed_limit", mode="before")
    @classmethod
    def _speed(cls, value: Any) -> int | None:
        return speed_limit(value)


def speed_limit(value: Any) -> int | None:
    """A download's own speed limit as given; the sentence of a bad one is the 422's."""
    try:
        return parse_rate(value)
    except ValueError as exc:
        raise PydanticCustomError("speed_limit", str(exc)) from None


def choice(
    format: str | None, audio_format: str | None, audio_quality: str | None
) -> dict[str, Any]:
    """The options of a download's own format and audio choice, checked (raises
    :class:`~haul.errors.InvalidChoice` naming each bad field)."""
    chosen_format, chosen_audio, chosen_quality = check_choice(format, audio_format, audio_quality)
    return {"format": chosen_format, "audio_format": chosen_audio, "audio_quality": chosen_quality}


class DownloadFile(BaseModel):
    model_config = ConfigDict(extra="allow")

    path: str
    name: str
    size: int | None = None


if TYPE_CHECKING:

    class DownloadOut(BaseModel):
        """A tracked download as the API shows it (its fields: made below from Tracked)."""

else:
    #: A tracked download as the API shows it: every field of Tracked, in its order.
    DownloadOut = model_of(
        Tracked,
        "DownloadOut",
        module=__name__,
        shown_as={"status": str, "files": list[DownloadFile]},
        described={
            "children": "A playlist's number of entries",
            "owner_name": (
                "The owner as a person reads it: a user name, 'visitor <id start>', 'local'"
            ),
            "children_status": "A playlist's entries counted by status",
            "format": "The yt-dlp format selector chosen for this download (null: the profile's)",
            "audio_format": "Audio only, chosen for this download (null: the profile's choice)",
            "audio_quality": "The audio quality chosen with audio_format",
            "speed_limit": "Its own speed limit in bytes per second (null: none)",
            "live_ended_by": (
                "How a finished live recording ended: user (stopped by hand), max_duration, "
                "stream_ended or stream_quiet (it stopped answering or adding segments)"
            ),
            "max_duration": "Seconds of media after which a live recording ends (null: none)",
            "thumbnail_url": (
                "haul's own address of the download's thumbnail (a copy of the page's "
                "picture); null when it has none"
            ),
        },
    )


class SubmitError(BaseModel):
    url: str
    detail: str
    code: str


class BulkCreated(BaseModel):
    items: list[DownloadOut]
    errors: list[SubmitError]


class ClientStateOut(BaseModel):
    name: str
    ok: bool
    error: str | None


class DownloadList(BaseModel):
    items: list[DownloadOut]
    next_cursor: str | None
    clients: list[ClientStateOut]


class DownloadEventOut(BaseModel):
    id: int
    at: datetime
    kind: str
    message: str | None
    data: dict[str, Any]


class BulkAction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[Id] = Field(
        min_length=1,
        max_length=MAX_URLS_PER_REQUEST,
        description="The downloads to act on; an id given twice is acted on once",
    )
    delete_files: bool = False

    @field_validator("ids")
    @classmethod
    def _once_each(cls, ids: list[int]) -> list[int]:
        return list(dict.fromkeys(ids))


class CancelBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    delete_files: bool = False


class BulkResult(BaseModel):
    items: list[DownloadOut]
    errors: list[dict[str, Any]]
