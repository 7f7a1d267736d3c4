"""From Xtream Codes JSON to catalogue values (pure), robust to what real panels send.

Real panels disagree on types and shapes: ids come as ints or strings, numbers as strings,
missing values as ``""``, ``"0"`` or null, an empty object as ``[]``, ``episodes`` as an object
keyed by season number or as a list, a film's year only inside its name ("Title (2019)"), the
TMDB id under ``tmdb`` or ``tmdb_id``. Every parser here accepts all of that. An answer of the
wrong shape altogether raises :class:`~haul.errors.ProviderBadAnswer` with a sentence; a single
entry without a usable id in a long list is skipped (and counted in the log), so one broken
film does not hide 50,000 good ones.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from haul.core.numbers import as_id, as_int
from haul.errors import IptvNotFound, ProviderAuthFailed, ProviderBadAnswer
from haul.iptv.catalog import (
    Account,
    Category,
    Episode,
    Season,
    Series,
    SeriesInfo,
    VodInfo,
    VodStream,
)

log = logging.getLogger(__name__)

DEFAULT_EXTENSION = "mp4"
_EXTENSION = re.compile(r"^[a-z0-9]{1,8}$")
_YEAR_AT_END = re.compile(
    r"^(?P<title>.*?)\s*(?:[(\[]\s*(?P<y1>(?:19|20)\d\d)\s*[)\]]|-\s*(?P<y2>(?:19|20)\d\d))\s*$"
)
_YEAR_IN_DATE = re.compile(r"\b((?:19|20)\d\d)\b")
_EPISODE_PREFIX = re.compile(r"^.*?\bS\d{1,3}\s*E\d{1,4}\b\s*[-\u2013:|]?\s*", re.IGNORECASE)
_IMDB = re.compile(r"^tt\d{5,10}$")


# -- scalar coercion ------------------------------------------------------------------------


def as_float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip().replace(",", "."))
        except ValueError:
            return None
    return None


def as_rating(value: Any) -> float | None:
    """A rating; panels write 0 (or ``"0"``) for "not rated"."""
    number = as_float(value)
    return number if number is not None and number > 0 else None


def as_text(value: Any) -> str | None:
    """A stripped string; None for null, ``""`` and things that are not text or numbers."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        text = value.strip()
        return text or None
    return None


def as_category_id(value: Any) -> str | None:
    number = as_int(value)
    if number is not None:
        return str(number)
    return as_text(value)


def as_positive(value: Any) -> int | None:
    """An id or count that means "none" when 0 (a TMDB id of ``"0"``)."""
    number = as_int(value)
    return number if number is not None and number > 0 else None


def as_time(value: Any) -> datetime | None:
    """A UNIX timestamp (int or string) as UTC; None for 0, blanks and nonsense."""
    seconds = as_int(value)
    if seconds is None or seconds <= 0:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def as_mapping(value: Any) -> Mapping[str, Any]:
    """An object; PHP encodes an empty one as ``[]``, and some panels send null."""
    return value if isinstance(value, Mapping) else {}


def as_extension(value: Any) -> str | None:
    text = as_text(value)
    if text is None:
        return None
    text = text.lower().lstrip(".")
    return text if _EXTENSION.match(text) else None


def as_duration(info: Mapping[str, Any]) -> int | None:
    """Seconds from ``duration_secs``, else from ``duration`` as ``HH:MM:SS`` or ``MM:SS``."""
    seconds = as_positive(info.get("duration_secs"))
    if seconds is not None:
        return seconds
    text = as_text(info.get("duration"))
    if text is None:
        return None
    parts = text.split(":")
    if 2 <= len(parts) <= 3 and all(p.strip().isdigit() for p in parts):
        total = 0
        for part in parts:
            total = total * 60 + int(part)
        return total or None
    return as_positive(text)


def as_imdb(value: Any) -> str | None:
    text = as_text(value)
    return text if text is not None and _IMDB.match(text) else None


def split_year(name: str) -> tuple[str, int | None]:
    """``"Title (2019)"`` -> ``("Title", 2019)``; also ``[2019]`` and ``- 2019`` at the end."""
    found = _YEAR_AT_END.match(name)
    if found is None or not found.group("title").strip():
        return name.strip(), None
    year = found.group("y1") or found.group("y2")
    return found.group("title").strip(), int(year)


def year_of(entry: Mapping[str, Any], name: str) -> tuple[str, int | None]:
    """The title without a year, and the year from ``year``, a release date or the name."""
    title, named = split_year(name)
    year = as_int(entry.get("year"))
    if year is None or not 1870 <= year <= 2200:
        year = None
        for key in ("releaseDate", "release_date", "releasedate"):
            text = as_text(entry.get(key))
            found = _YEAR_IN_DATE.search(text) if text else None
            if found:
                year = int(found.group(1))
                break
    return title, year if year is not None else named


def tmdb_of(entry: Mapping[str, Any]) -> int | None:
    for key in ("tmdb", "tmdb_id"):
        found = as_positive(entry.get(key))
        if found is not None:
            return found
    return None


def _category_ids(entry: Mapping[str, Any], first: str | None) -> tuple[str, ...]:
    raw = entry.get("category_ids")
    ids: list[str] = []
    if isinstance(raw, list):
        for value in raw:
            cid = as_category_id(value)
            if cid is not None and cid not in ids:
                ids.append(cid)
    if first is not None and first not in ids:
        ids.insert(0, first)
    return tuple(ids)


def _first_text(entry: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        text = as_text(entry.get(key))
        if text is not None:
            return text
    return None


def _texts(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value.strip(),) if value.strip() else ()
    if isinstance(value, list):
        return tuple(t for t in (as_text(v) for v in value) if t)
    return ()


# -- lists ----------------------------------------------------------------------------------


def entries(data: Any, what: str) -> list[Mapping[str, Any]]:
    """The objects of a list answer. Accepts a list, null (nothing) and an object keyed by
    index (some panels); anything else is a bad answer."""
    if data is None:
        return []
    if isinstance(data, Mapping):
        if "user_info" in data:
            raise ProviderAuthFailed()
        values: Iterable[Any] = data.values()
    elif isinstance(data, list):
        values = data
    else:
        raise ProviderBadAnswer(
            f"The provider's list of {what} is not a list (it is {type(data).__name__})."
        )
    return [value for value in values if isinstance(value, Mapping)]


def _skipped(what: str, count: int) -> None:
    if count:
        log.warning("skipped %d %s without a usable id in the provider's answer", count, what)


def parse_categories(data: Any) -> list[Category]:
    found: list[Category] = []
    for entry in entries(data, "categories"):
        cid = as_category_id(entry.get("category_id"))
        if cid is None:
            continue
        name = as_text(entry.get("category_name")) or f"Category {cid}"
        parent = as_category_id(entry.get("parent_id"))
        found.append(Category(cid, name, None if parent in (None, "0") else parent))
    return found


def vod_stream(entry: Mapping[str, Any], stream_id: int | None = None) -> VodStream | None:
    """One film from a ``get_vod_streams`` entry (or ``movie_data``); None without an id."""
    sid = as_id(entry.get("stream_id")) if stream_id is None else stream_id
    if sid is None:
        return None
    name = as_text(entry.get("name")) or as_text(entry.get("title")) or f"Film {sid}"
    title, year = year_of(entry, name)
    category = as_category_id(entry.get("category_id"))
    return VodStream(
        stream_id=sid,
        name=name,
        title=title,
        year=year,
        category_id=category,
        container_extension=as_extension(entry.get("container_extension")) or DEFAULT_EXTENSION,
        category_ids=_category_ids(entry, category),
        rating=as_rating(entry.get("rating")),
        tmdb=tmdb_of(entry),
        imdb=as_imdb(entry.get("imdb")) or as_imdb(entry.get("imdb_id")),
        added=as_time(entry.get("added")),
        cover=_first_text(entry, "stream_icon", "cover_big", "movie_image", "cover"),
    )


def parse_vod_streams(data: Any) -> list[VodStream]:
    found: list[VodStream] = []
    skipped = 0
    for entry in entries(data, "VOD streams"):
        stream = vod_stream(entry)
        if stream is None:
            skipped += 1
        else:
            found.append(stream)
    _skipped("films", skipped)
    return found


def series_entry(entry: Mapping[str, Any], series_id: int | None = None) -> Series | None:
    sid = as_id(entry.get("series_id")) if series_id is None else series_id
    if sid is None:
        return None
    name = as_text(entry.get("name")) or as_text(entry.get("title")) or f"Series {sid}"
    title, year = year_of(entry, name)
    category = as_category_id(entry.get("category_id"))
    return Series(
        series_id=sid,
        name=name,
        title=title,
        year=year,
        category_id=category,
        category_ids=_category_ids(entry, category),
        tmdb=tmdb_of(entry),
        imdb=as_imdb(entry.get("imdb")) or as_imdb(entry.get("imdb_id")),
        rating=as_rating(entry.get("rating")),
        cover=_first_text(entry, "cover", "cover_big", "stream_icon"),
        plot=_first_text(entry, "plot", "description"),
        genre=as_text(entry.get("genre")),
        last_modified=as_time(entry.get("last_modified")),
    )


def parse_series_list(data: Any) -> list[Series]:
    found: list[Series] = []
    skipped = 0
    for entry in entries(data, "series"):
        series = series_entry(entry)
        if series is None:
            skipped += 1
        else:
            found.append(series)
    _skipped("series", skipped)
    return found


# -- details --------------------------------------------------------------------------------


def _details(data: Any, what: str) -> Mapping[str, Any]:
    if isinstance(data, Mapping):
        if "user_info" in data and len(data) <= 2:
            raise ProviderAuthFailed()
        return data
    if data is None or data == []:
        return {}
    raise ProviderBadAnswer(
        f"The provider's details of {what} are not an object (they are {type(data).__name__})."
    )


def parse_vod_info(data: Any, vod_id: int | str) -> VodInfo:
    """A film's details; :class:`IptvNotFound` when the provider has no such film (panels
    answer ``{"info": [], "movie_data": []}``, ``[]`` or ``{}`` then)."""
    body = _details(data, f"film {vod_id}")
    info = as_mapping(body.get("info"))
    movie = as_mapping(body.get("movie_data"))
    wanted = as_id(vod_id)
    sid = as_id(movie.get("stream_id"))
    if sid is None:
        sid = wanted
    if not movie or sid is None:
        raise IptvNotFound(f"The provider has no film with the id {vod_id}.")
    merged = {**info, **{k: v for k, v in movie.items() if v not in (None, "", [])}}
    if as_text(movie.get("name")) is None:
        merged["name"] = info.get("name") or info.get("o_name")
    stream = vod_stream(merged, sid)
    assert stream is not None  # the id is given
    return VodInfo(
        stream=stream,
        original_name=as_text(info.get("o_name")),
        plot=_first_text(info, "plot", "description"),
        genre=as_text(info.get("genre")),
        director=as_text(info.get("director")),
        cast=_first_text(info, "cast", "actors"),
        release_date=_first_text(info, "releasedate", "release_date", "releaseDate"),
        duration=as_duration(info),
        trailer=as_text(info.get("youtube_trailer")),
        backdrops=_texts(info.get("backdrop_path")),
    )


def _episode(entry: Mapping[str, Any], season_key: int | None) -> Episode | None:
    eid = as_id(entry.get("id"))
    if eid is None:
        eid = as_id(entry.get("stream_id"))
    if eid is None:
        return None
    info = as_mapping(entry.get("info"))
    season = as_int(entry.get("season"))
    if season is None:
        season = as_int(info.get("season"))
    if season is None:
        season = season_key if season_key is not None else 1
    number = as_int(entry.get("episode_num"))
    if number is None:
        number = as_int(info.get("episode_num")) or 0
    title = as_text(entry.get("title")) or as_text(info.get("name")) or f"Episode {number}"
    return Episode(
        id=eid,
        season=season,
        episode_num=number,
        title=title,
        container_extension=as_extension(entry.get("container_extension")) or DEFAULT_EXTENSION,
        duration=as_duration(info),
        plot=_first_text(info, "plot", "overview"),
        cover=_first_text(info, "movie_image", "cover_big", "cover"),
        added=as_time(entry.get("added")),
        tmdb=tmdb_of(info) or tmdb_of(entry),
    )


def _episode_groups(raw: Any) -> list[tuple[int | None, list[Any]]]:
    """``episodes`` as (season from the key, entries): an object keyed by season, a list of
    per-season lists, or one flat list."""
    if isinstance(raw, Mapping):
        groups: list[tuple[int | None, list[Any]]] = []
        for key, value in raw.items():
            items = list(value.values()) if isinstance(value, Mapping) else value
            groups.append((as_int(key), items if isinstance(items, list) else []))
        return groups
    if isinstance(raw, list):
        if all(isinstance(item, list) for item in raw):
            return [(None, item) for item in raw]
        return [(None, [item for item in raw if isinstance(item, Mapping)])]
    return []


def parse_series_info(data: Any, series_id: int | str) -> SeriesInfo:
    """A series with its seasons and episodes; :class:`IptvNotFound` when the provider has no
    such series (no info and no episodes)."""
    body = _details(data, f"series {series_id}")
    info = as_mapping(body.get("info"))
    sid = as_id(series_id)
    if sid is None:
        raise IptvNotFound(f"{series_id!r} is not a series id.")
    episodes: dict[int, dict[int, Episode]] = {}
    skipped = 0
    for key, items in _episode_groups(body.get("episodes")):
        for item in items:
            episode = _episode(item, key) if isinstance(item, Mapping) else None
            if episode is None:
                skipped += 1
                continue
            episodes.setdefault(episode.season, {}).setdefault(episode.id, episode)
    _skipped("episodes", skipped)
    if not info and not episodes:
        raise IptvNotFound(f"The provider has no series with the id {series_id}.")
    series = series_entry(info, sid)
    assert series is not None  # the id is given
    meta: dict[int, Mapping[str, Any]] = {}
    raw_seasons = body.get("seasons")
    for entry in raw_seasons if isinstance(raw_seasons, list) else []:
        if isinstance(entry, Mapping):
            number = as_int(entry.get("season_number"))
            if number is not None:
                meta[number] = entry
    seasons = []
    for number in sorted(episodes):
        found = meta.get(number, {})
        ordered = sorted(episodes[number].values(), key=lambda e: (e.episode_num, e.id))
        seasons.append(
            Season(
                number=number,
                name=as_text(found.get("name")) or f"Season {number}",
                episodes=tuple(ordered),
                cover=_first_text(found, "cover_big", "cover"),
                air_date=as_text(found.get("air_date")),
            )
        )
    return SeriesInfo(series, tuple(seasons))


def episode_title(episode: Episode, series_title: str) -> str | None:
    """What an episode's title adds to ``Series S01E02``: panels often name an episode
    ``"Series - S01E02 - Pilot"``; that gives ``"Pilot"``, and a bare code gives None."""
    title = _EPISODE_PREFIX.sub("", episode.title, count=1).strip(" -\u2013:|")
    if not title or title.casefold() in (series_title.casefold(), episode.code.casefold()):
        return None
    return title


# -- the account ----------------------------------------------------------------------------

ACTIVE = "active"


def parse_account(data: Any) -> Account:
    """The account behind the credentials; :class:`ProviderAuthFailed` with a sentence when the
    provider refuses them or the account cannot be used (expired, banned, disabled)."""
    body = data if isinstance(data, Mapping) else {}
    user = body.get("user_info")
    if not isinstance(user, Mapping):
        raise ProviderBadAnswer(
            "The provider did not answer like an Xtream Codes panel (no user_info); "
            "check the URL: it is the panel's address, e.g. http://provider.example:8080."
        )
    if as_int(user.get("auth")) != 1:
        message = as_text(user.get("message"))
        raise ProviderAuthFailed(
            "The provider refused the username or password" + (f": {message}" if message else ".")
        )
    status = as_text(user.get("status")) or "Active"
    expires = as_time(user.get("exp_date"))
    server = as_mapping(body.get("server_info"))
    if status.casefold() != ACTIVE:
        raise ProviderAuthFailed(f"The provider says this account is {status}.")
    if expires is not None and expires <= datetime.now(UTC):
        raise ProviderAuthFailed(f"This account expired on {expires:%Y-%m-%d}.")
    formats = user.get("allowed_output_formats")
    return Account(
        status=status,
        expires_at=expires,
        is_trial=as_int(user.get("is_trial")) == 1,
        active_connections=as_int(user.get("active_cons")),
        max_connections=as_int(user.get("max_connections")),
        created_at=as_time(user.get("created_at")),
        allowed_formats=_texts(formats),
        message=as_text(user.get("message")),
        timezone=as_text(server.get("timezone")),
    )
