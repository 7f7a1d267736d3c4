"""Request and response bodies of the retention API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class RetentionRun(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dry_run: bool = Field(default=False, description="Only say what would be removed.")


class RetentionGoneOut(BaseModel):
    id: int = Field(description="The download's id")
    name: str = Field(description="Its title, or its source when it has none")
    freed_bytes: int = Field(description="Disk space its files give back, in bytes")
    files: list[str] = Field(description="Its files deleted (dry run: that would be)")


class RetentionReportOut(BaseModel):
    removed: int = Field(description="Downloads removed (dry run: that would be removed)")
    freed_bytes: int = Field(description="Disk space given back, in bytes")
    files: int = Field(description="Files deleted")
    dry_run: bool
    ran_at: datetime
    seconds: float = Field(description="How long the run took")
    downloads: list[RetentionGoneOut] = Field(
        default_factory=list,
        description="A dry run: the downloads that would be removed (the first 1,000), with "
        "their files. Files filed into the library are never among them.",
    )


class RetentionOut(BaseModel):
    retention_days: float | None = Field(
        description="Days finished downloads of accounts and the local user are kept "
        "(null: forever)"
    )
    anonymous_retention_days: float | None = Field(
        description="Days finished downloads of anonymous browser sessions are kept (null: forever)"
    )
    interval: float = Field(description="Seconds between two runs of a worker (0: never)")
    last_run: RetentionReportOut | None = Field(description="The last run that removed, if any")
