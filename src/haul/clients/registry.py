"""The kinds of download client haul can drive, and building one from its stored settings.

The kinds are an allow-list of modules, each an adapter folder's ``kind.py`` declaring one
:class:`~haul.clients.kinds.ClientKind`. They are imported the first time a kind is asked for,
and each builder imports its adapter only when the first client of its kind is built, so a haul
that uses only the built-in engine never loads a torrent client library. Adding a kind is its
folder and one line here.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from haul.clients.base import DownloadClient
from haul.clients.kind_hints import either
from haul.clients.kinds import ClientKind
from haul.core.client_specs import ClientSpec
from haul.core.routing import BUILTIN, Candidate, Roster, SourceKind
from haul.core.sources import METADATA_HOSTS
from haul.errors import InputError
from haul.net.guard import CLIENT_POLICY, WORDS, Refusal

#: The modules that declare a kind, in the order kinds are listed (the API's enum, the form).
ALLOWED = (
    "haul.clients.aria2.kind",
    "haul.clients.qbittorrent.kind",
    "haul.clients.transmission.kind",
)


@functools.cache
def kinds() -> tuple[ClientKind, ...]:
    """Every kind haul can drive, in the order of :data:`ALLOWED`."""
    found: tuple[ClientKind, ...] = tuple(
        importlib.import_module(module).KIND for module in ALLOWED
    )
    return found


def kind_named(name: str) -> ClientKind | None:
    return next((kind for kind in kinds() if kind.name == name), None)


def names() -> tuple[str, ...]:
    return tuple(kind.name for kind in kinds())


def labels() -> dict[str, str]:
    """Each kind's name and what a person calls it."""
    return {kind.name: kind.label for kind in kinds()}


def label_of(name: str) -> str:
    """What a person calls the kind ``name`` (the name itself when haul knows no such kind)."""
    kind = kind_named(name)
    return kind.label if kind is not None else name


def example_urls() -> dict[str, str]:
    """Where each kind listens by default, shown as an example when a URL is wrong."""
    return {kind.name: kind.example_url for kind in kinds()}


def preferable_for_files() -> tuple[ClientKind, ...]:
    """The kinds a client of which may be preferred for direct files over the built-in engine."""
    return tuple(kind for kind in kinds() if kind.preferable_for_files)


def taking(source: SourceKind) -> tuple[ClientKind, ...]:
    """The kinds that take ``source``, in order of preference."""
    return tuple(sorted((k for k in kinds() if source in k.takes), key=lambda k: k.rank))


def candidate(spec: ClientSpec) -> Candidate:
    """A configured client as routing sees it: its settings and what its kind takes."""
    kind = kind_named(spec.kind)
    return Candidate(
        spec.name,
        kind.label if kind is not None else spec.kind,
        kind.takes if kind is not None else frozenset(),
        spec.priority,
        spec.enabled,
        spec.prefer_for_files,
        kind.rank if kind is not None else 0,
    )


def roster(specs: Iterable[ClientSpec]) -> Roster:
    """The configured clients as routing sees them."""
    return Roster(
        tuple(candidate(spec) for spec in specs),
        tuple(kind.label for kind in taking("torrent")),
    )


def spec_problems(spec: ClientSpec, *, new_url: bool = True) -> list[tuple[str, str]]:
    """Every setting of ``spec`` that can never work, as (field, sentence saying what to fix);
    the field is the :class:`ClientSpec` attribute the sentence is about. ``new_url``: the URL
    is being given now, and may not carry a password (one saved before that rule still
    works: it is only shown masked)."""
    kind = kind_named(spec.kind)
    if kind is None:
        known = ", ".join(names())
        return [("kind", f"haul cannot drive a {spec.kind!r} client; it knows {known}.")]
    found: list[tuple[str, str]] = []
    if spec.name == BUILTIN:
        found.append(("name", "The name 'builtin' belongs to haul's own engine; choose another."))
    elif (
        not spec.name
        or len(spec.name) > 64
        or not all(ch.isalnum() or ch in "-_." for ch in spec.name)
    ):
        found.append(
            (
                "name",
                "A client's name is 1 to 64 letters, digits, '-', '_' or '.', e.g. 'qbit-main'.",
            )
        )
    parts = urlsplit(spec.url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in kind.url_schemes or not parts.hostname or port == -1:
        found.append(
            (
                "url",
                f"The URL of {_a(kind.label)} client looks like "
                f"{kind.example_url}; {spec.url!r} is not such a URL.",
            )
        )
    elif sentence := address_problem(parts.hostname or ""):
        found.append(("url", sentence))
    elif new_url and (parts.username is not None or parts.password is not None):
        found.append(
            (
                "url",
                "Put the user name and the password of a client in their own fields, not in "
                "its URL (a URL is shown to whoever sees the client's settings).",
            )
        )
    if spec.timeout <= 0 or spec.timeout > 120:
        found.append(("timeout", "A client's timeout is between 0 and 120 seconds."))
    if spec.slot_limit is not None and spec.slot_limit < 1:
        found.append(("slot_limit", "A client's slot limit is at least 1 (or none for no limit)."))
    if spec.prefer_for_files and not kind.preferable_for_files:
        able = either(k.label for k in preferable_for_files())
        found.append(("prefer_for_files", f"Only {able} can be preferred for direct files."))
    if spec.seed_ratio is not None and spec.seed_ratio < 0:
        found.append(("seed_ratio", "A seeding ratio cannot be negative."))
    if spec.seed_minutes is not None and spec.seed_minutes < 0:
        found.append(("seed_minutes", "A seeding time cannot be negative."))
    return found


def address_problem(host: str, refusal: Refusal | None = None) -> str | None:
    """Why a client cannot be at ``host`` (a link-local or metadata address, or a cloud
    metadata service's name), or None; private and loopback addresses are fine: clients
    usually live on the LAN or on this machine. ``refusal``: what looking ``host`` up found."""
    host = host.rstrip(".").lower()
    if host in METADATA_HOSTS:
        return f"{host} is a cloud metadata service; a download client cannot be there."
    refusal = refusal or CLIENT_POLICY.check(host)
    if refusal is None:
        return None
    named = f"{host} reaches " if refusal.host else ""
    return (
        f"{named}{refusal.address} is {WORDS[refusal.kind].split(',')[0]}; "
        "a download client cannot be there."
    )


def shown_url(url: str) -> str:
    """``url`` with any password in it masked (a client saved before such URLs were refused)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def _a(word: str) -> str:
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def check_spec(spec: ClientSpec, *, new_url: bool = True) -> None:
    """Refuse settings that can never work, with a sentence saying what to fix."""
    for _field, sentence in spec_problems(spec, new_url=new_url):
        raise InputError(sentence)


def build_client(spec: ClientSpec) -> DownloadClient:
    check_spec(spec, new_url=False)
    kind = kind_named(spec.kind)
    assert kind is not None  # check_spec refuses an unknown kind
    return kind.build(spec)
