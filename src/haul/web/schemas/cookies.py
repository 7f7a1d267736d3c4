"""Bodies of the cookies API: a set is shown by its sites, count and dates, never by a name
or a value of its cookies."""

from __future__ import annotations

from pydantic import BaseModel, Field


class CookieSetOut(BaseModel):
    id: int
    domains: list[str] = Field(
        description="The sites the cookies are for, in lower case and ASCII (.example.com "
        "also covers www.example.com)",
        examples=[[".example.com"]],
    )
    count: int = Field(description="How many cookies the set holds")
    expires_at: str | None = Field(
        description="When the first cookie with an expiry runs out (null: session cookies only)"
    )
    created_at: str


class CookieSetAdded(CookieSetOut):
    """An upload's answer: the set, and the lines of the file left out, if any."""

    left_out: int | None = Field(
        default=None,
        description="How many lines of the file were left out because their domain is not a "
        "host name (absent when none was)",
    )
    note: str | None = Field(
        default=None,
        description="The sentence telling of the lines left out (absent when none was)",
        examples=["2 lines were left out: their domain is not a host name."],
    )


class CookieSetList(BaseModel):
    items: list[CookieSetOut]
