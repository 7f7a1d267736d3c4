"""The download client form of the clients pages: what the person typed (never the password:
it is not sent back to the browser), read into a :class:`ClientSpec` with every problem found
at once and placed beside its field."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from haul.clients import kind_hints, registry
from haul.clients.base import ClientHealth
from haul.clients.registry import spec_problems
from haul.core.client_specs import ClientSpec
from haul.web.ui.forms import PageForm, whole_number

#: The spec's settings this form edits (the rest keep their stored or default values).
FIELDS = (
    "kind",
    "name",
    "url",
    "username",
    "category",
    "priority",
    "enabled",
    "prefer_for_files",
    "slot_limit",
)


@dataclass
class ClientForm(PageForm):
    kind: str = field(default_factory=lambda: registry.names()[0])
    name: str = ""
    url: str = ""
    username: str = ""
    category: str = "haul"
    priority: str = "1"
    enabled: bool = True
    prefer_for_files: bool = False
    slot_limit: str = ""
    has_secret: bool = False  # a password is stored (editing)
    clear_secret: bool = False
    tested: ClientHealth | None = None

    @classmethod
    def of(cls, client: dict[str, Any]) -> ClientForm:
        """The form that edits a configured client (its public JSON: no secret in it)."""
        return cls(
            kind=str(client["kind"]),
            name=str(client["name"]),
            url=shown_url(str(client["url"])),
            username=str(client.get("username") or ""),
            category=str(client.get("category") or ""),
            priority=str(client.get("priority", 1)),
            enabled=bool(client.get("enabled")),
            prefer_for_files=bool(client.get("prefer_for_files")),
            slot_limit=str(client.get("slot_limit") or ""),
            has_secret=bool(client.get("has_secret")),
        )

    @property
    def kinds(self) -> dict[str, str]:
        return registry.labels()

    @property
    def file_kinds(self) -> list[str]:
        """The kinds that may be preferred for direct files (the form shows that box for them)."""
        return [kind.name for kind in registry.preferable_for_files()]

    # What the hints beside the fields say about the kinds.

    @property
    def kind_hint(self) -> str:
        return kind_hints.takes_sentence(registry.kinds())

    @property
    def username_hint(self) -> str:
        return kind_hints.username_sentence(registry.kinds())

    @property
    def auth_options(self) -> list[tuple[str, str]]:
        """Each kind whose secret is an option of its own, and that option."""
        return [(k.label, k.auth_option) for k in registry.kinds() if k.auth_option]

    @property
    def markers(self) -> list[tuple[str, str]]:
        return kind_hints.marker_words(registry.kinds())

    @property
    def file_labels(self) -> str:
        return kind_hints.file_labels(registry.kinds())


def read_spec(form: ClientForm, secret: str, base: ClientSpec | None = None) -> ClientSpec | None:
    """The settings to save or test, or None when something needs a fix (``form.errors``).
    ``base`` is the stored spec when editing: its secret stays unless one is typed."""
    for name in ("name", "url", "username", "category"):
        setattr(form, name, str(getattr(form, name)).strip())
    priority = whole_number(form, "priority", "A priority", 0, 100)
    if not form.priority.strip():
        form.error("priority", "Give a priority: 0 to 100, lower is preferred.")
    slot_limit = whole_number(form, "slot_limit", "A slot limit", 1, 10_000)
    if not form.category:
        form.error("category", "Give the category (or label) that marks haul's items, e.g. haul.")
    elif len(form.category) > 100:
        form.error("category", "A category is at most 100 characters.")
    if len(form.username) > 255:
        form.error("username", "A user name is at most 255 characters.")
    if len(secret) > 1000:
        form.error("secret", "A password is at most 1000 characters.")
    if not form.url:
        form.error("url", "Give the address the client answers at.")
    elif urlsplit(form.url).password:
        form.error("url", "Put the password in the password field, not in the URL.")
        form.url = shown_url(form.url)  # the page never shows a password
    if form.kind not in registry.names():
        form.error("kind", f"Choose {kind_hints.either(registry.labels().values())}.")
        return None
    if form.clear_secret:
        kept: str | None = None
    elif secret:
        kept = secret
    else:
        kept = base.secret if base is not None else None
    values: dict[str, Any] = {
        "name": base.name if base is not None else form.name,
        "kind": form.kind,
        "url": form.url,
        "username": form.username or None,
        "secret": kept,
        "category": form.category or "haul",
        "priority": priority if priority is not None else 1,
        "enabled": form.enabled,
        "prefer_for_files": form.prefer_for_files,
        "slot_limit": slot_limit,
    }
    spec = dataclasses.replace(base, **values) if base is not None else ClientSpec(**values)
    for where, sentence in spec_problems(spec):
        where = where if where in FIELDS else "form"
        if where == "form" or not form.errors.get(where):
            form.error(where, sentence)
    return None if form.errors else spec


def changes(spec: ClientSpec, secret_typed: bool, clear_secret: bool) -> dict[str, Any]:
    """What :meth:`ClientService.update` takes from the edit form: the form's settings, and
    the secret only when one was typed (or removal asked for)."""
    out = {name: getattr(spec, name) for name in FIELDS if name not in ("kind", "name")}
    if clear_secret:
        out["secret"] = ""
    elif secret_typed:
        out["secret"] = spec.secret
    return out


def shown_url(url: str) -> str:
    """A client's URL as the page shows it: any password in it replaced by stars."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username or ''}:***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def health_text(health: ClientHealth | None, *, builtin: bool = False) -> str:
    """What a person reads about a client's health, in plain words."""
    if health is None:
        return "Disabled: not asked."
    if health.ok:
        return "Ready." if builtin else f"Connected: {health.version or 'unknown version'}"
    return health.error or "It does not answer."
