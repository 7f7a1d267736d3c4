"""The rules of media items (pure): what each kind needs, external ids that make sense, and
the item a download belongs to.

- a **movie** and a **series** stand alone (no parent);
- an **episode** belongs to a series and has a season (0 for specials) and an episode number;
- a **trailer** belongs to a movie or a series.

External ids: ``imdb`` (``tt`` and digits), ``tmdb`` and ``tvdb`` (positive numbers), and the
IPTV provider's ``stream`` (a VOD film), ``series`` and ``episode`` ids.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from haul.errors import InvalidMediaItem

Kind = Literal["movie", "series", "episode", "trailer"]
KINDS: tuple[Kind, ...] = ("movie", "series", "episode", "trailer")
ID_KEYS = ("imdb", "tmdb", "tvdb", "stream", "series", "episode")
_IMDB = re.compile(r"^tt\d{5,10}$")
_PROVIDER_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
MIN_YEAR, MAX_YEAR = 1870, 2200


@dataclass(frozen=True, slots=True)
class Subject:
    """The media item a download belongs to, with its parent's title (episode, trailer)."""

    kind: Kind
    title: str
    year: int | None = None
    season: int | None = None
    episode: int | None = None
    parent_kind: Kind | None = None
    parent_title: str | None = None
    parent_year: int | None = None


@dataclass(frozen=True, slots=True)
class Shape:
    """The fields that decide whether an item is well-formed."""

    kind: str
    title: str
    year: int | None = None
    parent_kind: str | None = None  # None: no parent
    season: int | None = None
    episode: int | None = None


def problems(shape: Shape) -> list[tuple[str, str]]:
    """Every rule ``shape`` breaks, as (field, sentence) in the order a person fixes them;
    the field is one of ``kind title year parent season``."""
    if shape.kind not in KINDS:
        return [("kind", f"A media item is one of {', '.join(KINDS)}; not {shape.kind!r}.")]
    found: list[tuple[str, str]] = []
    if not shape.title.strip():
        found.append(("title", "A media item needs a title."))
    if shape.year is not None and not MIN_YEAR <= shape.year <= MAX_YEAR:
        found.append(("year", f"{shape.year} is not a year a film or series could have."))
    numbered = shape.season is not None or shape.episode is not None
    if shape.kind in ("movie", "series"):
        if shape.parent_kind is not None:
            found.append(("parent", f"A {shape.kind} stands alone; it cannot have a parent."))
        if numbered:
            found.append(("season", "Only an episode has a season and an episode number."))
    elif shape.kind == "episode":
        if shape.parent_kind != "series":
            found.append(("parent", "An episode belongs to a series: give the series as parent."))
        if shape.season is None or shape.episode is None:
            found.append(("season", "An episode needs its season and episode numbers."))
        elif shape.season < 0 or shape.episode < 0:
            found.append(("season", "Season and episode numbers cannot be negative."))
    else:  # trailer
        if shape.parent_kind not in ("movie", "series"):
            found.append(("parent", "A trailer belongs to a movie or a series: give it as parent."))
        if numbered:
            found.append(("season", "Only an episode has a season and an episode number."))
    return found


def check(shape: Shape) -> None:
    """Raise :class:`InvalidMediaItem` with a sentence when ``shape`` breaks a rule."""
    for _field, sentence in problems(shape):
        raise InvalidMediaItem(sentence)


def clean_ids(ids: Mapping[str, Any] | None) -> dict[str, str | int]:
    """Checked and normalised external ids (unknown keys and malformed values refused)."""
    out: dict[str, str | int] = {}
    for key, value in (ids or {}).items():
        if key not in ID_KEYS:
            raise InvalidMediaItem(
                f"Unknown external id {key!r}; known ones are {', '.join(ID_KEYS)}."
            )
        if value is None or value == "":
            continue
        if key == "imdb":
            text = str(value).strip()
            if not _IMDB.match(text):
                raise InvalidMediaItem(f"{text!r} is not an IMDb id (like tt0133093).")
            out[key] = text
        elif key in ("tmdb", "tvdb"):
            try:
                number = int(str(value).strip())
            except ValueError:
                number = 0
            if number <= 0:
                raise InvalidMediaItem(f"A {key.upper()} id is a positive number, not {value!r}.")
            out[key] = number
        else:
            text = str(value).strip()
            if not _PROVIDER_ID.match(text):
                raise InvalidMediaItem(f"{text!r} is not a provider's {key} id.")
            out[key] = text
    return out
