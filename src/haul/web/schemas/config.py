"""Bodies of the runtime settings API (``/config``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class SiteRuleOut(BaseModel):
    domain: str = Field(examples=["youtube.com"], description="The site and its subdomains")
    max_transfers: int | None = Field(description="At most this many transfers at once")
    sleep_seconds: float = Field(description="Seconds between requests to the site")
    connections: int | None = Field(
        default=None,
        description="At most this many connections for one big file (1: one; null: the setting)",
    )


class WindowOut(BaseModel):
    days: list[str] = Field(examples=[["mon", "tue", "wed", "thu", "fri"]])
    start: str = Field(alias="from", examples=["09:00"], description="Start, wall-clock time")
    to: str = Field(examples=["17:00"], description="End; before the start: the next day")
    limit: int | None = Field(
        default=None, description="The global limit while in force (bytes per second)"
    )
    pause: bool = Field(default=False, description="Whether transfers pause while in force")


Value = int | float | str | list[SiteRuleOut] | list[WindowOut] | None


class SettingOut(BaseModel):
    key: str = Field(examples=["limit_global"])
    value: Value = Field(description="The value in effect (null: empty, see none_means)")
    default: Value = Field(description="The value from the environment (HAUL_<KEY>)")
    source: Literal["config", "default"] = Field(
        description="config: an administrator set the value; default: the environment's"
    )
    description: str
    type: Literal["integer", "number", "choice", "rules", "rate", "schedule", "timezone"]
    nullable: bool = Field(description="Whether the setting may be empty (send the word none)")
    none_means: str | None = Field(
        description="What an empty value means, e.g. 'no limit' (null: it cannot be empty)"
    )
    choices: list[str] | None = Field(description="The values a choice takes")
    minimum: float | None = Field(description="The smallest value of a number")
    exclusive_minimum: bool = Field(description="Whether the minimum itself is refused")
    unit: str | None = Field(description="seconds, days, bytes per second, or null")
    updated_at: datetime | None = Field(description="When an administrator last set it")


class ConfigOut(BaseModel):
    settings: list[SettingOut]


PATCH_EXAMPLE = {
    "limit_global": 4,
    "over_limit": "reject",
    "limit_per_owner": "none",
    "site_rules": [{"domain": "youtube.com", "max_transfers": 2, "sleep_seconds": 5}],
    "speed_limit_global": "4M",
    "speed_schedule": [{"days": ["mon", "fri"], "from": "09:00", "to": "17:00", "limit": "1M"}],
}
PATCH_DESCRIPTION = (
    'Settings to change, as key: value. A value may be JSON or text (`3` or `"3"`); '
    "`null` puts a setting back to its default; the word `none` empties a setting that may "
    "be empty (no per-owner limit, keep forever). All or nothing: when a key is unknown or a "
    "value wrong, nothing changes and the 422 answer names every bad key in `errors`."
)
