"""Request and response bodies of the subscriptions API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from haul.web.ids import Id

BACKFILL_HELP = (
    'What the first check downloads of what exists already: "none" (the default: it is only '
    'remembered, and what appears later is downloaded), "all", or a number of newest entries'
)


class SubscriptionSettings(BaseModel):
    """What can change on a subscription (all optional)."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, max_length=1000)
    profile: str | None = Field(
        default=None, max_length=100, description="The profile its downloads use (null: default)"
    )
    interval_minutes: int | None = Field(
        default=None, description="Minutes between checks: 5 to 10080 (default 60)"
    )
    backfill: str | int | None = Field(default=None, description=BACKFILL_HELP, examples=["none"])
    since: datetime | None = Field(
        default=None,
        description="Entries published before this are never downloaded (a date, 2024-01-31, "
        "or a date and time)",
    )
    title_filter: str | None = Field(
        default=None,
        max_length=1000,
        description="A regular expression a title must contain (case ignored); others are skipped",
    )
    max_per_check: int | None = Field(
        default=None, description="At most this many downloads per check; the rest wait"
    )
    media_id: Id | None = Field(default=None, description="The library item its downloads are for")
    keep_last: int | None = Field(
        default=None, description="Only the newest N downloaded files are kept"
    )
    paused: bool | None = None

    @field_validator("since", mode="before")
    @classmethod
    def _since_in_words(cls, value: object) -> object:
        """A date that cannot be read is said in a sentence, not in the parser's terms."""
        if not isinstance(value, str) or not value.strip():
            return value or None
        text = value.strip()
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise PydanticCustomError(
                "since",
                "a date like 2024-01-31 (or a date and time, 2024-01-31T18:00:00Z), not {given}",
                {"given": repr(text[:40])},
            ) from None


class SubscriptionCreate(SubscriptionSettings):
    url: str = Field(
        min_length=1,
        max_length=8192,
        examples=[
            "https://www.youtube.com/@channel/videos",
            "https://podcast.example/feed.xml",
            "iptv://myprovider/series/123",
        ],
    )
    kind: Literal["playlist", "feed"] | None = Field(
        default=None,
        description="For a web link: a playlist or channel page, or a feed (found out when "
        "left out)",
    )


class SubscriptionOut(BaseModel):
    id: int
    url: str
    kind: str = Field(description="playlist, feed or iptv_series")
    title: str | None
    owner: str
    owner_name: str = Field(description="Its owner as people read it (an account's user name)")
    profile: str | None
    interval_minutes: int
    backfill: str
    since: str | None
    title_filter: str | None
    max_per_check: int | None
    media_id: int | None
    keep_last: int | None
    paused: bool
    next_check_at: str | None = Field(description="null while paused")
    last_checked_at: str | None
    last_error: str | None = Field(description="Why the last check failed (null: it worked)")
    last_error_at: str | None
    failures: int = Field(description="Failed checks in a row; the next one backs off")
    checking: bool = Field(description="A worker is checking it now")
    entries: int = Field(description="Entries seen")
    downloads: int = Field(description="Downloads made")
    created_at: str | None
    updated_at: str | None


class SubscriptionList(BaseModel):
    items: list[SubscriptionOut]


class CheckOut(BaseModel):
    subscription: SubscriptionOut
    checked: bool = Field(
        description="Whether the check ran now (false: a worker is checking it already, or "
        "no worker runs in this process and the next one's pass checks it)"
    )
    downloads: list[int] = Field(description="The downloads this check made")
    remembered: int = Field(description="New entries only remembered (backfill, since, filter)")
    deferred: int = Field(description="New entries left for the next check (max_per_check)")
    error: str | None


class EntryOut(BaseModel):
    id: int
    key: str
    title: str | None
    url: str | None
    published_at: str | None
    seen_at: str | None
    download_id: int | None = Field(description="The download it became (null: none)")
    download_status: str | None = Field(
        description="Its download's status; removed once the download was taken out of view "
        "(by its owner, or by keep_last with its files)"
    )
    skipped: str | None = Field(
        description="Why it was not downloaded: backfill, since, filter, no_link, refused"
    )
    error: str | None


class EntryList(BaseModel):
    items: list[EntryOut]
    next_cursor: str | None
