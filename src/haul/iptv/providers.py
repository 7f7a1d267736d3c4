"""A configured IPTV provider as a plain value, and the checks its settings pass (pure).

The password goes in and never comes out: :meth:`Provider.to_json` says ``has_password``,
and the ``repr`` of these values leaves it (and the username) out.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

from haul.core.sources import parse_source
from haul.errors import InputError, InvalidURL
from haul.iptv.xtream import XtreamClient, base_url
from haul.store.models import IptvProvider

MAX_TIMEOUT = 120.0


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """The settings of a provider, as a person gives them."""

    name: str
    url: str
    username: str = field(repr=False)
    password: str = field(repr=False)
    enabled: bool = True
    timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class Provider:
    """A stored provider, detached from its database row."""

    id: int
    spec: ProviderSpec
    owner_key: str = "local"
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def label(self) -> str:
        return f"The IPTV provider {self.spec.name!r}"

    def client(self, http: httpx.AsyncClient) -> XtreamClient:
        spec = self.spec
        return XtreamClient(
            http, spec.url, spec.username, spec.password, timeout=spec.timeout, label=self.label
        )

    def to_json(self) -> dict[str, Any]:
        spec = self.spec
        return {
            "id": self.id,
            "name": spec.name,
            "url": spec.url,
            "username": spec.username,
            "has_password": bool(spec.password),
            "enabled": spec.enabled,
            "timeout": spec.timeout,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }


def to_provider(row: IptvProvider) -> Provider:
    """The provider a database row stores."""
    spec = ProviderSpec(
        name=row.name,
        url=row.url,
        username=row.username,
        password=row.password,
        enabled=row.enabled,
        timeout=row.timeout,
    )
    return Provider(row.id, spec, row.owner_key, row.created_at, row.updated_at)


def credentials_in(url: str) -> tuple[str | None, str | None]:
    """The username and password a pasted M3U link (``get.php?username=..&password=..``) or
    a ``http://user:pass@host`` URL carries, if any."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None, None
    query = parse_qs(parts.query)
    user = next(iter(query.get("username", [])), None)
    secret = next(iter(query.get("password", [])), None)
    if user is None and parts.username:
        user = unquote(parts.username)
    if secret is None and parts.password:
        secret = unquote(parts.password)
    return user, secret


def check_spec(spec: ProviderSpec, *, allow_private: bool = True) -> ProviderSpec:
    """The settings made canonical (the URL reduced to the panel's address, credentials taken
    from a pasted M3U link when not given), or :class:`InputError` saying what to fix."""
    name = spec.name.strip()
    if not name or len(name) > 64 or not all(ch.isalnum() or ch in "-_." for ch in name):
        raise InputError(
            "A provider's name is 1 to 64 letters, digits, '-', '_' or '.', e.g. 'my-iptv'."
        )
    if name.isdigit():
        raise InputError("A provider's name cannot be only digits (those are provider ids).")
    user, secret = credentials_in(spec.url)
    username = spec.username.strip() if spec.username else (user or "")
    password = spec.password if spec.password else (secret or "")
    try:
        source = parse_source(spec.url, allow_private=allow_private)
    except InvalidURL as exc:
        raise InvalidURL(
            f"The provider's URL is the panel's address, e.g. http://provider.example:8080; "
            f"{exc.message[0].lower()}{exc.message[1:]}"
        ) from None
    if source.kind != "url":
        raise InvalidURL("The provider's URL is the panel's http or https address.")
    if not username:
        raise InputError("The provider's username is missing.")
    if not password:
        raise InputError("The provider's password is missing.")
    if len(username) > 255 or len(password) > 1000:
        raise InputError("The username or the password is too long.")
    if any(ord(ch) < 32 for ch in username + password):
        raise InputError("The username or the password contains control characters.")
    if not 0 < spec.timeout <= MAX_TIMEOUT:
        raise InputError(f"A provider's timeout is between 0 and {MAX_TIMEOUT:g} seconds.")
    return dataclasses.replace(
        spec, name=name, url=base_url(source.url), username=username, password=password
    )
