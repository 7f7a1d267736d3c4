"""Request and response bodies of signed file links."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from haul.core.links import DEFAULT_EXPIRES_IN


class LinkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: int = Field(default=0, ge=0, description="Which file of the download (0: the first)")
    expires_in: float = Field(
        default=DEFAULT_EXPIRES_IN,
        description="Seconds the link works (default 24 hours, at most 30 days)",
    )


class LinkOut(BaseModel):
    url: str = Field(description="The link's path on this server: /files/<token>")
    expires_at: datetime
    name: str = Field(description="The file's name")
