"""Request and response bodies of the clients API. A secret goes in, never comes out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from haul.clients import kind_hints, registry

if TYPE_CHECKING:
    KindName = str
else:
    #: The kinds of the registry, in its order (the API's enum).
    KindName = Literal[registry.names()]
#: What marks haul's items in each kind that marks them, e.g. "category (qBittorrent)".
_MARKERS = " or ".join(
    f"{word} ({label})" for label, word in kind_hints.marker_words(registry.kinds())
)
#: The longest seeding time a client can be asked for (well within an integer column).
CENTURY_MINUTES = 100 * 365 * 24 * 60


class ClientSettings(BaseModel):
    """Settings shared by create and change (all optional on change)."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, max_length=1000, examples=["http://127.0.0.1:8080"])
    username: str | None = Field(default=None, max_length=255)
    secret: str | None = Field(
        default=None,
        max_length=1000,
        description="Password or RPC secret. Write-only: never returned.",
    )
    category: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description=f"The {_MARKERS} that marks haul's items",
    )
    priority: int | None = Field(default=None, ge=0, le=100, description="Lower is preferred")
    enabled: bool | None = None
    slot_limit: int | None = Field(default=None, ge=1, le=10000)
    prefer_for_files: bool | None = Field(
        default=None,
        description=f"{kind_hints.file_labels(registry.kinds())} only: direct files go to it "
        "instead of the built-in engine",
    )
    timeout: float | None = Field(default=None, gt=0, le=120)
    remove_completed: bool | None = Field(
        default=None, description="Remove finished items from the client once the goal is met"
    )
    seed_ratio: float | None = Field(default=None, ge=0)
    seed_minutes: int | None = Field(default=None, ge=0, le=CENTURY_MINUTES)

    def given(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class ClientCreate(ClientSettings):
    name: str = Field(min_length=1, max_length=64, examples=["qbit"])
    kind: KindName
    url: str = Field(max_length=1000, examples=["http://127.0.0.1:8080"])


class ClientOut(BaseModel):
    name: str
    kind: str
    url: str
    username: str | None
    has_secret: bool
    category: str
    priority: int
    enabled: bool
    slot_limit: int | None
    prefer_for_files: bool
    timeout: float
    remove_completed: bool
    seed_ratio: float | None
    seed_minutes: int | None
    ok: bool | None = Field(description="False while the client is failing; None if not asked")
    error: str | None


class ClientList(BaseModel):
    items: list[ClientOut]


class ClientTestOut(BaseModel):
    ok: bool
    version: str | None
    error: str | None = Field(description="What is wrong: refused, credentials, version ...")
    code: str | None


class ClientTest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret: str | None = Field(default=None, max_length=1000)


class ClientItemOut(BaseModel):
    ref: str
    status: str
    name: str | None
    progress: float | None
    downloaded_bytes: int
    total_bytes: int | None
    save_path: str | None
    message: str | None


class ClientItemList(BaseModel):
    items: list[ClientItemOut]


class Adopt(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ref: str = Field(min_length=1, max_length=128)
