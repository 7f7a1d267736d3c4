"""Bodies of the accounts API: logins, users and API tokens. Passwords and tokens go in; a
password never comes out, a token only once, when it is made."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

LENGTH_RULE = "At least 8 characters"


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(max_length=200, examples=["alice"])
    password: str = Field(max_length=1024, description=LENGTH_RULE)


class SetupIn(Credentials):
    """The first administrator. ``code`` is the setup code haul printed when it started (the
    local user of a single-user haul needs none)."""

    code: str | None = Field(default=None, max_length=100)


class TokenLogin(Credentials):
    """A login that answers with a new API token (what ``haul login`` sends)."""

    name: str = Field(default="cli", max_length=100, description="What the token is for")


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024, description=LENGTH_RULE)
    revoke_tokens: bool = Field(
        default=False,
        description="Also revoke every API token of the account (programs using them stop); "
        "by default they keep working and the answer lists them",
    )


class UserIn(Credentials):
    role: Literal["admin", "user"] = "user"
    limit: int | None = Field(
        default=None, ge=1, le=100_000, description="Active downloads at once (null: default)"
    )


class UserChange(BaseModel):
    """Fields to change; a field left out keeps its value (``limit`` null: the default)."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["admin", "user"] | None = None
    limit: int | None = Field(default=None, ge=1, le=100_000)
    disabled: bool | None = None
    password: str | None = Field(default=None, max_length=1024, description=LENGTH_RULE)
    revoke_tokens: bool = Field(
        default=False, description="Revoke every API token of the account (with a new password)"
    )


class UserOut(BaseModel):
    id: int
    username: str
    role: str
    limit: int | None
    disabled: bool
    created_at: datetime
    last_login_at: datetime | None


class OwnedOut(BaseModel):
    """What an account owns: what deleting it deletes or hands over."""

    downloads: int
    media_items: int
    iptv_providers: int
    notification_targets: int
    subscriptions: int


class MeOut(BaseModel):
    """Who is asking, and how this instance is run."""

    mode: Literal["single", "accounts", "public"]
    owner: str = Field(description="The owner key of the caller's downloads")
    is_admin: bool
    anonymous: bool = Field(description="An anonymous visitor of a public instance")
    user: UserOut | None
    needs_setup: bool = Field(description="No account exists yet: /setup makes the first")


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, examples=["laptop"])


class TokenOut(BaseModel):
    id: int
    user_id: int
    name: str
    hint: str | None = Field(description="The token's first characters")
    created_at: datetime
    last_used_at: datetime | None


class PasswordChanged(BaseModel):
    tokens: list[TokenOut] = Field(
        description="The account's API tokens that still work: revoke one with "
        "DELETE /tokens/{id}, or all with the password change's revoke_tokens"
    )
    tokens_revoked: bool = Field(description="Whether this change revoked the API tokens")


class NewTokenOut(TokenOut):
    token: str = Field(description="The token itself: shown this once, never again")
