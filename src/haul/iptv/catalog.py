"""What an IPTV provider offers, as plain frozen values (pure: no I/O).

The Xtream Codes API answers with loosely typed JSON; :mod:`haul.iptv.parsing` turns it into
these values, so everything above it sees one shape: ids are ints (category ids are strings,
as the protocol names them), missing values are None, never ``""``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

#: What a stream URL is built for: a VOD film or a series episode.
StreamKind = Literal["movie", "episode"]


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    name: str
    parent_id: str | None = None


@dataclass(frozen=True, slots=True)
class VodStream:
    """One film of the VOD catalogue."""

    stream_id: int
    name: str  # as the provider writes it, e.g. "The Matrix (1999)"
    title: str  # the name without its year: "The Matrix"
    year: int | None
    category_id: str | None
    container_extension: str  # "mkv", "mp4" ...; "mp4" when the provider does not say
    category_ids: tuple[str, ...] = ()
    rating: float | None = None
    tmdb: int | None = None
    imdb: str | None = None
    added: datetime | None = None
    cover: str | None = None

    @property
    def display_name(self) -> str:
        return _with_year(self.title, self.year)


@dataclass(frozen=True, slots=True)
class VodInfo:
    """A film's details (``get_vod_info``): its stream as it is now, plus the descriptions."""

    stream: VodStream
    original_name: str | None = None
    plot: str | None = None
    genre: str | None = None
    director: str | None = None
    cast: str | None = None
    release_date: str | None = None
    duration: int | None = None  # seconds
    trailer: str | None = None  # a YouTube video id
    backdrops: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Series:
    """One series of the series catalogue."""

    series_id: int
    name: str
    title: str
    year: int | None
    category_id: str | None
    category_ids: tuple[str, ...] = ()
    tmdb: int | None = None
    imdb: str | None = None
    rating: float | None = None
    cover: str | None = None
    plot: str | None = None
    genre: str | None = None
    last_modified: datetime | None = None

    @property
    def display_name(self) -> str:
        return _with_year(self.title, self.year)


@dataclass(frozen=True, slots=True)
class Episode:
    """One downloadable episode; ``id`` is what its stream URL names."""

    id: int
    season: int
    episode_num: int
    title: str
    container_extension: str
    duration: int | None = None  # seconds
    plot: str | None = None
    cover: str | None = None
    added: datetime | None = None
    tmdb: int | None = None

    @property
    def code(self) -> str:
        return f"S{self.season:02d}E{self.episode_num:02d}"


@dataclass(frozen=True, slots=True)
class Season:
    number: int
    name: str
    episodes: tuple[Episode, ...]
    cover: str | None = None
    air_date: str | None = None


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    """A series with its seasons and their episodes (``get_series_info``), seasons and
    episodes in order."""

    series: Series
    seasons: tuple[Season, ...]

    @property
    def episodes(self) -> tuple[Episode, ...]:
        return tuple(e for season in self.seasons for e in season.episodes)

    def season(self, number: int) -> Season | None:
        return next((s for s in self.seasons if s.number == number), None)

    def episode(self, episode_id: int | str) -> Episode | None:
        wanted = str(episode_id).strip()
        return next((e for e in self.episodes if str(e.id) == wanted), None)


@dataclass(frozen=True, slots=True)
class Account:
    """The provider's answer about the account (``user_info``/``server_info``), without the
    credentials it repeats."""

    status: str
    expires_at: datetime | None = None
    is_trial: bool = False
    active_connections: int | None = None
    max_connections: int | None = None
    created_at: datetime | None = None
    allowed_formats: tuple[str, ...] = ()
    message: str | None = None
    timezone: str | None = None


def _with_year(title: str, year: int | None) -> str:
    return f"{title} ({year})" if year else title
