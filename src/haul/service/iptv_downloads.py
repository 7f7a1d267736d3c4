"""Downloading from an IPTV catalogue: a film, an episode, a season or a whole series, each as
a media-linked download (the film or episode is found in, or added to, the library).

The download's source names what to ask the provider for (``iptv://...``, see
:func:`haul.core.sources.iptv_source`); the engine and the external clients ask
:class:`IptvStreamUrls` for the stream at each attempt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import httpx

from haul.core.media_items import clean_ids
from haul.core.sources import iptv_series_of, iptv_source
from haul.core.submit_options import IptvEntry, SubmitOptions
from haul.core.tracking import Tracked
from haul.errors import HaulError, InvalidMediaItem, NotFound, PermanentTransferError
from haul.iptv.catalog import Episode, Series
from haul.iptv.redact import redact_url
from haul.iptv.streams import as_transfer_error, fresh_stream_url
from haul.service.downloads import DownloadService
from haul.service.iptv import IptvService
from haul.service.media import MediaService
from haul.service.values import Owner
from haul.store.database import Database
from haul.store.models import Download
from haul.worker.context import SecretStream


@dataclass(frozen=True, slots=True)
class Refused:
    episode_id: int
    label: str
    code: str
    detail: str


def _known_ids(**ids: Any) -> dict[str, Any]:
    """The provider's external ids that are well-formed (a garbled one is dropped, never a
    reason to refuse the download)."""
    out: dict[str, Any] = {}
    for key, value in ids.items():
        if value is None:
            continue
        try:
            out.update(clean_ids({key: value}))
        except InvalidMediaItem:
            continue
    return out


def episode_label(show: Series, episode: Episode) -> str:
    """What an episode's download is called: the series and ``S01E02``."""
    return f"{show.display_name} S{episode.season:02d}E{episode.episode_num:02d}"


async def series_item(media: MediaService, owner: Owner, provider_id: int, show: Series) -> int:
    """The library item of a provider's series (found, or made), its id."""
    item = await media.find_or_create(
        owner,
        kind="series",
        title=show.title,
        match={"series": str(show.series_id)},
        year=show.year,
        provider_id=provider_id,
        external_ids=_known_ids(tmdb=show.tmdb, imdb=show.imdb),
    )
    return item.id


async def episode_item(
    media: MediaService,
    owner: Owner,
    provider_id: int,
    show: Series,
    episode: Episode,
    series_id: int,
) -> int:
    """The library item of an episode of a provider's series (found, or made under the
    series' item ``series_id``), its id."""
    item = await media.find_or_create(
        owner,
        kind="episode",
        title=episode.title or f"Episode {episode.episode_num}",
        match={"episode": str(episode.id)},
        parent_id=series_id,
        season=episode.season,
        episode=episode.episode_num,
        provider_id=provider_id,
        external_ids={"series": str(show.series_id)},
    )
    return item.id


class IptvStreamUrls:
    """Asks the provider of an IPTV download for a fresh stream (see haul.iptv.streams); the
    URL carries the provider's credentials, so the stream comes with a way to clean messages."""

    def __init__(self, db: Database, http: httpx.AsyncClient) -> None:
        self.db = db
        self.http = http

    async def fresh(self, row: Download) -> SecretStream:
        """A stream of ``row`` to download now; raises a TransferError when there is none."""
        if row.iptv_provider_id is None or row.iptv_kind not in ("movie", "episode"):
            raise PermanentTransferError(
                "The IPTV provider of this download was removed.", code="iptv_provider_gone"
            )
        try:
            stream = await fresh_stream_url(
                self.db,
                self.http,
                row.iptv_provider_id,
                "movie" if row.iptv_kind == "movie" else "episode",
                str(row.iptv_ref),
                series_id=iptv_series_of(row.source_url),
            )
        except HaulError as exc:
            raise as_transfer_error(exc) from None
        source = row.source_url

        def clean(text: str) -> str:
            return redact_url(text.replace(stream.url, source))

        return SecretStream(stream.url, stream.filename, clean)


class IptvDownloads:
    def __init__(self, iptv: IptvService, media: MediaService, downloads: DownloadService) -> None:
        self.iptv = iptv
        self.media = media
        self.downloads = downloads

    async def movie(
        self, owner: Owner, provider_ref: str | int, stream_id: int, options: SubmitOptions
    ) -> Tracked:
        provider = await self.iptv.get(provider_ref, owner)
        info = await self.iptv.vod_info(provider_ref, stream_id, owner)
        stream = info.stream
        item = await self.media.find_or_create(
            owner,
            kind="movie",
            title=stream.title,
            match={"stream": str(stream.stream_id)},
            year=stream.year,
            provider_id=provider.id,
            external_ids=_known_ids(tmdb=stream.tmdb, imdb=stream.imdb),
        )
        entry = IptvEntry(provider.id, "movie", str(stream.stream_id))
        return await self.downloads.submit_source(
            iptv_source(provider.id, "movie", entry.ref),
            owner,
            replace(options, media_id=item.id, title=stream.display_name, iptv=entry),
        )

    async def series(
        self,
        owner: Owner,
        provider_ref: str | int,
        series_id: int,
        options: SubmitOptions,
        *,
        season: int | None = None,
        episode_ids: Sequence[int] = (),
    ) -> tuple[list[Tracked], list[Refused]]:
        """Every episode of the series, of one season, or the episodes named."""
        provider = await self.iptv.get(provider_ref, owner)
        info = await self.iptv.series_info(provider_ref, series_id, owner)
        show = info.series
        episodes: list[Episode] = [
            e
            for s in info.seasons
            if season is None or s.number == season
            for e in s.episodes
            if not episode_ids or e.id in episode_ids
        ]
        if not episodes:
            which = f"season {season} of " if season is not None else ""
            raise NotFound(f"There is no such episode in {which}{show.display_name}.")
        item_id = await series_item(self.media, owner, provider.id, show)
        created: list[Tracked] = []
        refused: list[Refused] = []
        for e in sorted(episodes, key=lambda e: (e.season, e.episode_num)):
            label = episode_label(show, e)
            try:
                episode_id = await episode_item(self.media, owner, provider.id, show, e, item_id)
                entry = IptvEntry(provider.id, "episode", str(e.id), e.season, e.episode_num)
                created.append(
                    await self.downloads.submit_source(
                        iptv_source(provider.id, "episode", entry.ref, series_id=show.series_id),
                        owner,
                        replace(options, media_id=episode_id, title=label, iptv=entry),
                    )
                )
            except HaulError as exc:
                refused.append(Refused(e.id, label, exc.code, exc.message))
        return created, refused
