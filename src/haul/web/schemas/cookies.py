"""Bodies of the cookies API: a set is shown by its sites, count and dates, never by a name
or a value of its cookies."""

from __future__ import annotations

from pydantic import BaseModel, Field


class CookieSetOut(BaseModel):
    id: int
    domains: list[str] = Field(
        description="The sites the cookies are for, as the file writes them (.example.com "
        "also covers www.example.com)",
        examples=[[".example.com"]],
    )
    count: int = Field(description="How many cookies the set holds")
    expires_at: str | None = Field(
        description="When the first cookie with an expiry runs out (null: session cookies only)"
    )
    created_at: str


class CookieSetList(BaseModel):
    items: list[CookieSetOut]
