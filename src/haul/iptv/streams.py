"""A fresh stream URL for a film or an episode, asked of the provider at every attempt.

Providers change a stream's container, rotate passwords and hand out URLs that expire, so a
download of an IPTV stream never keeps a URL: the engine calls :func:`fresh_stream_url` before
each attempt (a retry gets a new one) and the URL lives only in that attempt's memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from haul.core.numbers import as_id
from haul.core.paths import sanitize_filename
from haul.errors import (
    HaulError,
    IptvNotFound,
    PermanentTransferError,
    ProviderDisabled,
    TransferError,
    TransientTransferError,
)
from haul.iptv.catalog import StreamKind
from haul.iptv.parsing import episode_title
from haul.iptv.providers import Provider, to_provider
from haul.iptv.redact import redact_url
from haul.store import iptv as queries
from haul.store.database import Database


@dataclass(frozen=True, slots=True)
class ResolvedStream:
    """Where a film or an episode can be fetched right now, and what to call it.

    ``url`` holds the provider's credentials: give it to the engine or the download client
    and nothing else (``safe_url`` is the form for logs and events).
    """

    url: str = field(repr=False)
    kind: StreamKind
    ref: str  # the film's stream id, or the episode's id
    name: str  # "The Matrix (1999)", "Dark (2017) S01E02 - Lies"
    extension: str  # "mkv"
    provider_id: int
    provider_name: str
    title: str  # the film's or the series' title, without year
    year: int | None = None
    series_id: int | None = None
    season: int | None = None
    episode: int | None = None
    episode_title: str | None = None
    duration: int | None = None  # seconds, when the provider says

    @property
    def filename(self) -> str:
        """A safe file name: ``name.extension``."""
        return sanitize_filename(f"{self.name}.{self.extension}")

    @property
    def safe_url(self) -> str:
        return redact_url(self.url)


async def load_provider(db: Database, provider_id: int) -> Provider:
    async with db.read() as s:
        row = await queries.by_ref(s, provider_id)
        provider = to_provider(row) if row is not None else None
    if provider is None:
        raise IptvNotFound(f"There is no IPTV provider with the id {provider_id}.")
    if not provider.spec.enabled:
        raise ProviderDisabled(f"{provider.label} is disabled; enable it to use it.")
    return provider


async def fresh_stream_url(
    db: Database,
    http: httpx.AsyncClient,
    provider_id: int,
    kind: StreamKind,
    ref: str | int,
    *,
    series_id: int | str | None = None,
) -> ResolvedStream:
    """Ask the provider, now, for the stream of a film (``kind="movie"``, ``ref`` its stream
    id) or an episode (``kind="episode"``, ``ref`` the episode id; ``series_id`` its series,
    else found through the library's media items).

    Raises :class:`~haul.errors.IptvNotFound` (no such provider, film, series or episode),
    :class:`ProviderDisabled`, or a :class:`~haul.errors.ProviderError` whose ``transient``
    says whether a later attempt may work. :func:`as_transfer_error` turns any of them into
    the engine's :class:`~haul.errors.TransferError`.
    """
    provider = await load_provider(db, provider_id)
    client = provider.client(http)
    wanted = str(ref).strip()
    if kind == "movie":
        info = await client.vod_info(wanted)
        stream = info.stream
        return ResolvedStream(
            url=client.stream_url("movie", stream.stream_id, stream.container_extension),
            kind="movie",
            ref=str(stream.stream_id),
            name=stream.display_name,
            extension=stream.container_extension,
            provider_id=provider.id,
            provider_name=provider.name,
            title=stream.title,
            year=stream.year,
            duration=info.duration,
        )
    if kind != "episode":
        raise ValueError(f"kind is 'movie' or 'episode', not {kind!r}")
    sid = as_id(series_id) if series_id is not None else None
    if sid is None:
        async with db.read() as s:
            sid = await queries.series_of_episode(s, provider.id, wanted)
    if sid is None:
        raise IptvNotFound(
            f"haul does not know which series episode {wanted} of {provider.name} belongs to."
        )
    series_info = await client.series_info(sid)
    episode = series_info.episode(wanted)
    if episode is None:
        raise IptvNotFound(
            f"{series_info.series.display_name} on {provider.name} has no episode {wanted} "
            "any more."
        )
    series = series_info.series
    extra = episode_title(episode, series.title)
    name = f"{series.display_name} {episode.code}" + (f" - {extra}" if extra else "")
    return ResolvedStream(
        url=client.stream_url("series", episode.id, episode.container_extension),
        kind="episode",
        ref=str(episode.id),
        name=name,
        extension=episode.container_extension,
        provider_id=provider.id,
        provider_name=provider.name,
        title=series.title,
        year=series.year,
        series_id=series.series_id,
        season=episode.season,
        episode=episode.episode_num,
        episode_title=extra,
        duration=episode.duration,
    )


def as_transfer_error(exc: HaulError) -> TransferError:
    """The engine's view of a failure to resolve a stream: transient (an unreachable or
    overloaded provider, a garbled answer) or permanent (refused credentials, a film that is
    gone, a disabled provider). Keeps the message and the code."""
    if isinstance(exc, TransferError):
        return exc
    kind = TransientTransferError if getattr(exc, "transient", False) else PermanentTransferError
    return kind(exc.message, code=exc.code)
