"""What a built-in job needs from the rest of haul, handed in by the runtime."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from haul.clients.builtin.client import BuiltinClient
from haul.core.cookies import SiteCookies
from haul.core.retry import Backoff, RetryPolicy
from haul.core.sites import SiteRule
from haul.engine.bandwidth import Budgets
from haul.engine.base import Engine, Profile
from haul.engine.hls import LiveRecorder
from haul.engine.live import LiveJobs
from haul.engine.resolve import Extractor
from haul.net.guard import AddressPolicy
from haul.store.jobs import JobStore
from haul.store.models import Download
from haul.worker.pacing import SitePacer

Publish = Callable[[Download], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class SecretStream:
    """Where an IPTV download's bytes are right now. ``url`` carries the provider's
    credentials: it goes to the engine or the download client, never to the database, an
    event or a message (``redact`` cleans a message that may hold it)."""

    url: str = field(repr=False)
    filename: str
    redact: Callable[[str], str] = field(repr=False)


ProbeFiles = Callable[
    [int, list[dict[str, Any]], str | None],
    tuple[list[dict[str, Any]], list[tuple[str, str | None, dict[str, Any]]]],
]


def storable(resolved: dict[str, Any]) -> dict[str, Any]:
    """What may be kept of a resolution on the row: all of it, but a URL that carries
    credentials (``secret_url``, an IPTV stream's), which is asked for again each attempt."""
    if not resolved.get("secret_url"):
        return resolved
    return {k: v for k, v in resolved.items() if k not in ("url", "secret_url")}


#: Offers a resolved source to the external clients; True when one of them took it.
Handoff = Callable[[Download, dict[str, Any]], Awaitable[bool]]

#: Asks the provider of an IPTV download for a fresh stream (raises TransferError).
IptvStreams = Callable[[Download], Awaitable[SecretStream]]


@dataclass
class JobContext:
    """Everything a built-in job's run reaches outside itself: the rows (``jobs``), the work
    and download folders (``builtin``), the engines, and who is told of its end. The store and
    the engines are protocols and the rest are folders or callables, so a run can be put
    together without a database or a network: the in-memory store
    (:class:`~haul.store.memory.MemoryJobStore`) and the scripted engine
    (:class:`~haul.engine.fake.FakeEngine`)."""

    #: Where the jobs' rows are read and written.
    jobs: JobStore
    builtin: BuiltinClient
    #: The jobs this process runs.
    live: LiveJobs
    #: Moves direct files (and tells, from the first answer, what a source is).
    direct: Engine
    #: Moves what yt-dlp finds on pages.
    media: Engine
    #: The retry policy in effect, read at each failure (an administrator may change it).
    retry: Callable[[], RetryPolicy]
    publish: Publish
    profiles: Callable[[int | None], Awaitable[Profile]]
    #: Hands a download whose transfer is recorded as finished to the processing step.
    processed: Callable[[int], None] | None = None
    #: Fresh stream URLs of IPTV downloads (None: no IPTV here).
    iptv: IptvStreams | None = None
    #: Told of a download that failed for good (no retry left): notifications.
    failed: Callable[[Download], None] | None = None
    #: Told of a download completed with its completion (no processing step): notifications.
    completed: Callable[[Download], None] | None = None
    #: Blocking: probe records and history of finished files (download id, files, profile).
    probe: ProbeFiles | None = None
    #: The folder under the download root an owner's files go to ("": the root itself).
    owner_folder: Callable[[str], Awaitable[str]] | None = None
    #: Where yt-dlp may connect (the HTTP engine carries its own); None: anywhere.
    addresses: AddressPolicy | None = None
    #: What a page holds, as yt-dlp finds it (blocking, run in a thread); None: yt-dlp itself.
    extract: Extractor | None = None
    #: The site cookies an owner uploaded (by owner key; None: none), sent with their jobs.
    cookies: Callable[[str], Awaitable[SiteCookies | None]] | None = None
    #: How often a completion the database refused is written again.
    storage_backoff: Backoff = field(default_factory=Backoff)
    #: Seconds a download waiting for disk space waits before it looks again.
    space_recheck: float = 10.0
    #: Records live HLS streams (None: a live stream goes to yt-dlp like any manifest).
    recorder: LiveRecorder | None = None
    #: The site rules in effect (an administrator may change them), read at each start.
    site_rules: Callable[[], Sequence[SiteRule]] = lambda: ()
    #: Keeps a site rule's pause between transfers to its site (this process's).
    pacer: SitePacer = field(default_factory=SitePacer)
    #: The speed budgets of this process's transfers (None: no speed limits).
    budgets: Budgets | None = None
