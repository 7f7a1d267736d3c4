"""Response bodies of the logs API (administrators): the error log, unsupported URLs, their
counts, and what a clear removed."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class ErrorEntryOut(BaseModel):
    id: int
    download_id: int | None = Field(description="The download that failed (null once deleted)")
    download_exists: bool = Field(
        description="The download can still be opened at /downloads/{download_id}"
    )
    title: str | None = Field(description="The download's title, while it is stored")
    url: str | None = Field(description="The download's source, while it is stored")
    domain: str | None = Field(
        description="Host of the source; `magnet` for torrents, `iptv:N` for IPTV provider N"
    )
    code: str = Field(description="Machine-readable error code, e.g. http_404, unsupported_url")
    message: str = Field(description="What went wrong, in a sentence (credentials masked)")
    format: str | None = Field(description="The format asked for, if any")
    media_type: str | None = Field(description="What the source turned out to be, if known")
    created_at: datetime


class ErrorLogPage(BaseModel):
    items: list[ErrorEntryOut] = Field(description="Newest first")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")


class UnsupportedEntryOut(BaseModel):
    id: int
    url: str = Field(description="The link nothing understood (credentials masked)")
    domain: str
    error: str = Field(description="Why it is not supported")
    owner: str | None = Field(description="Who submitted it")
    created_at: datetime


class UnsupportedPage(BaseModel):
    items: list[UnsupportedEntryOut] = Field(description="Newest first")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")


class DomainCount(BaseModel):
    domain: str | None
    count: int


class CodeCount(BaseModel):
    code: str | None
    count: int


class LogCountsOut(BaseModel):
    total: int = Field(description="Entries in the log")
    by_domain: list[DomainCount] = Field(description="The most frequent domains, most first")
    domains: int = Field(description="How many domains there are in all")
    other_domains: int = Field(description="Entries of the domains not in `by_domain`")
    by_code: list[CodeCount] = Field(description="The most frequent error codes, most first")
    codes: int = Field(description="How many error codes there are in all")


class LogSummaryOut(BaseModel):
    errors: LogCountsOut
    unsupported: LogCountsOut


class ClearedOut(BaseModel):
    removed: int = Field(description="Entries removed")
    older_than_days: int | None = Field(description="Only entries older than this were removed")
