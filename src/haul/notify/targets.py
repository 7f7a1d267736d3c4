"""A configured notification target as a value, and the checks on its URL (pure but for
asking Apprise whether it knows a URL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from haul.core.sources import address_forbidden
from haul.errors import InputError, InvalidTargetURL
from haul.notify import apprise_urls
from haul.notify.kinds import check_kinds

TargetKind = Literal["webhook", "apprise"]
TARGET_KINDS: tuple[TargetKind, ...] = ("webhook", "apprise")
MAX_SECRET = 255


@dataclass(frozen=True, slots=True)
class Target:
    """Where notifications go. ``owner_key`` None: every owner's events (global)."""

    id: int
    name: str
    kind: TargetKind
    url: str
    events: tuple[str, ...]
    owner_key: str | None = None
    secret: str | None = None
    enabled: bool = True
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_row(cls, row: Any) -> Target:
        return cls(
            id=int(row.id),
            name=row.name,
            kind=row.kind,
            url=row.url,
            events=tuple(row.events or ()),
            owner_key=row.owner_key,
            secret=row.secret,
            enabled=bool(row.enabled),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @property
    def is_global(self) -> bool:
        return self.owner_key is None

    @property
    def where(self) -> str:
        """A label for logs and messages that carries no credential."""
        return f"{self.name} ({location(self.kind, self.url)})"

    def to_json(self) -> dict[str, Any]:
        """What the API shows: never the secret, never an Apprise token."""
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "url": shown_url(self.kind, self.url),
            "has_secret": bool(self.secret),
            "events": list(self.events),
            "scope": "global" if self.is_global else "owner",
            "owner": self.owner_key,
            "enabled": self.enabled,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }


def location(kind: str, url: str) -> str:
    """Scheme and host only (webhook URLs can carry tokens in their path or query too)."""
    if kind == "apprise":
        return apprise_urls.redact(url)
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "…"
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}{port}"


def shown_url(kind: str, url: str) -> str:
    """A webhook URL without its password and the values of its query (``?token=***``: a
    service's webhook token often travels there); an Apprise URL as its scheme only."""
    if kind == "apprise":
        return apprise_urls.redact(url)
    parts = urlsplit(url)
    if parts.query:
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        parts = parts._replace(query="&".join(f"{quote(key)}=***" for key, _ in pairs))
    if parts.password is not None:
        user, _, host = parts.netloc.rpartition("@")
        name = user.split(":", 1)[0]
        parts = parts._replace(netloc=f"{name}:***@{host}")
    return urlunsplit(parts)


def default_name(kind: str, url: str) -> str:
    if kind == "apprise":
        return apprise_urls.scheme(url) or "apprise"
    return (urlsplit(url).hostname or "webhook")[:64]


def check_url(kind: str, url: str, *, allow_private: bool) -> str:
    """The URL, stripped, or :class:`InvalidTargetURL` saying what is wrong with it."""
    text = url.strip()
    if not text:
        raise InvalidTargetURL("The notification URL is empty.")
    if kind == "webhook":
        _check_webhook(text)
    elif kind == "apprise":
        if not apprise_urls.understood(text):
            raise InvalidTargetURL(
                f"Apprise does not understand that {apprise_urls.redact(text)} URL: check the "
                "service name and its tokens (see the Apprise wiki for each service's form)."
            )
    else:
        raise InvalidTargetURL(f"A notification target is a webhook or apprise, not {kind!r}.")
    try:
        host = urlsplit(text).hostname
    except ValueError:
        host = None
    if host:
        reason = address_forbidden(host, allow_private=allow_private)
        if reason:
            raise InvalidTargetURL(f"Notifications cannot go there: {reason}.")
    return text


def _check_webhook(url: str) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        raise InvalidTargetURL(f"That webhook URL is not valid: {exc}.") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidTargetURL(
            "A webhook URL must start with http:// or https://; "
            "for other services use an Apprise URL."
        )
    if not parts.hostname:
        raise InvalidTargetURL("That webhook URL has no host name.")


def check_events(events: Any) -> tuple[str, ...]:
    return tuple(check_kinds(events))


def check_secret(secret: str | None) -> str | None:
    if secret is None or secret == "":
        return None
    if len(secret) > MAX_SECRET:
        raise InputError(f"A webhook secret can be at most {MAX_SECRET} characters long.")
    return secret
