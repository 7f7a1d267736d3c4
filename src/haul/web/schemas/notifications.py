"""Request and response bodies of the notifications API. A secret goes in, never comes out;
an Apprise URL comes out as its scheme only."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

EVENTS_HELP = (
    "Which events to send: completed, failed, imported, subscription.new (the first three "
    "when left out)"
)


class NotificationSettings(BaseModel):
    """What can change on a target (all optional)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=64)
    url: str | None = Field(default=None, min_length=1, max_length=4000)
    secret: str | None = Field(
        default=None,
        max_length=255,
        description='Webhooks: the HMAC-SHA256 key. Write-only; "" removes it, null keeps it.',
    )
    events: list[str] | None = Field(default=None, max_length=10, description=EVENTS_HELP)
    enabled: bool | None = None


class NotificationCreate(NotificationSettings):
    kind: Literal["webhook", "apprise"]
    url: str = Field(
        min_length=1,
        max_length=4000,
        examples=["https://example.org/hooks/haul", "tgram://bottoken/ChatID"],
    )
    scope: Literal["global", "owner"] = Field(
        default="owner",
        description="global: every owner's downloads (administrators only); owner: yours",
    )


class NotificationOut(BaseModel):
    id: int
    name: str
    kind: str
    url: str = Field(description="Apprise URLs show only their scheme: they carry tokens")
    has_secret: bool
    events: list[str]
    scope: Literal["global", "owner"]
    owner: str | None
    enabled: bool
    created_at: str | None
    updated_at: str | None


class NotificationList(BaseModel):
    items: list[NotificationOut]


class NotificationTestOut(BaseModel):
    ok: bool
    error: str | None = Field(description="What went wrong, in plain words")
    status: int | None = Field(description="The webhook's HTTP status, when it answered")
