"""The kinds of download client haul can drive, and building one from its stored settings.

Adapters are imported when the first client of their kind is built, so a haul that uses only
the built-in engine never loads a torrent client library.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from haul.clients.base import DownloadClient
from haul.core.routing import BUILTIN, KIND_LABEL, Candidate
from haul.core.sources import METADATA_HOSTS
from haul.errors import InputError
from haul.net.guard import CLIENT_POLICY, WORDS, Refusal

KINDS = tuple(KIND_LABEL)
#: Where each kind listens by default, shown as an example when a URL is wrong.
EXAMPLE_URLS = {
    "aria2": "http://127.0.0.1:6800/jsonrpc",
    "qbittorrent": "http://127.0.0.1:8080",
    "transmission": "http://127.0.0.1:9091/transmission/rpc",
}


@dataclass(frozen=True, slots=True)
class ClientSpec:
    """A configured client, detached from the database row it was read from."""

    name: str
    kind: str
    url: str
    username: str | None = None
    secret: str | None = field(default=None, repr=False)  # never in a log line
    category: str = "haul"
    priority: int = 1
    enabled: bool = True
    slot_limit: int | None = None
    prefer_for_files: bool = False
    timeout: float = 5.0
    remove_completed: bool = False
    seed_ratio: float | None = None
    seed_minutes: int | None = None

    @property
    def candidate(self) -> Candidate:
        return Candidate(self.name, self.kind, self.priority, self.enabled, self.prefer_for_files)

    @property
    def connection(self) -> tuple[str, str, str | None, str | None, str, float]:
        """What building the client depends on: a change here means a new connection."""
        return (self.kind, self.url, self.username, self.secret, self.category, self.timeout)


def spec_problems(spec: ClientSpec, *, new_url: bool = True) -> list[tuple[str, str]]:
    """Every setting of ``spec`` that can never work, as (field, sentence saying what to fix);
    the field is the :class:`ClientSpec` attribute the sentence is about. ``new_url``: the URL
    is being given now, and may not carry a password (one saved before that rule still
    works: it is only shown masked)."""
    if spec.kind not in KINDS:
        return [("kind", f"haul cannot drive a {spec.kind!r} client; it knows {', '.join(KINDS)}.")]
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
    if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
        found.append(
            (
                "url",
                f"The URL of {_a(KIND_LABEL[spec.kind])} client looks like "
                f"{EXAMPLE_URLS[spec.kind]}; {spec.url!r} is not such a URL.",
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
    if spec.prefer_for_files and spec.kind != "aria2":
        found.append(("prefer_for_files", "Only aria2 can be preferred for direct files."))
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


def _aria2(spec: ClientSpec) -> DownloadClient:
    from haul.clients.aria2 import Aria2Client

    return Aria2Client(spec.url, spec.secret, name=spec.name, timeout=spec.timeout)


def _qbittorrent(spec: ClientSpec) -> DownloadClient:
    from haul.clients.qbittorrent import QBittorrentClient

    return QBittorrentClient(
        spec.url,
        spec.username,
        spec.secret,
        name=spec.name,
        category=spec.category,
        timeout=spec.timeout,
    )


def _transmission(spec: ClientSpec) -> DownloadClient:
    from haul.clients.transmission import TransmissionClient

    return TransmissionClient(
        spec.url,
        spec.username,
        spec.secret,
        name=spec.name,
        label=spec.category,
        timeout=spec.timeout,
    )


BUILDERS: dict[str, Callable[[ClientSpec], DownloadClient]] = {
    "aria2": _aria2,
    "qbittorrent": _qbittorrent,
    "transmission": _transmission,
}


def build_client(spec: ClientSpec) -> DownloadClient:
    check_spec(spec, new_url=False)
    return BUILDERS[spec.kind](spec)
