"""Body of the speed limits route (``/limits``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from haul.web.schemas.config import WindowOut


class LimitsOut(BaseModel):
    global_limit: int | None = Field(
        description="The global limit in force, bytes per second (null: none)"
    )
    global_limit_configured: int | None = Field(
        description="speed_limit_global, which a schedule window may replace"
    )
    owner_limit: int | None = Field(description="Each owner's limit (null: none)")
    paused: bool = Field(
        description="Whether a pause window holds the downloads (the built-in engine's "
        "transfers and the external clients' items)"
    )
    window: WindowOut | None = Field(description="The schedule window in force (null: none)")
    until: datetime | None = Field(description="When what is in force changes (null: never)")
    then: str | None = Field(description="What is in force after that, in words")
    timezone: str = Field(description="The time zone of the schedule's times")
    schedule: list[WindowOut]
    summary: str = Field(examples=["Global limit 4.0 MB/s until Mon 09:00"])
    until_text: str | None = Field(
        description="until as a weekday and time in the schedule's time zone",
        examples=["Mon 09:00"],
    )
