"""Which finished files go where in the library (pure: paths in, relative paths out).

A download that belongs to a media item brings one main file (the film, the episode, the
trailer: the largest file with video, samples aside) and perhaps subtitle files, which go
beside it under its name with their language tag (``Heat (1995).en.srt``), and side files a
profile asked for, which go beside it under its name too, as Kodi and Jellyfin look for them:
the NFO (``Heat (1995).nfo``), the page's information (``Heat (1995).info.json``) and its
thumbnail (``Heat (1995)-thumb.jpg``). A download that
belongs to a whole series (a season pack) brings many episodes: each file whose name says
``S01E02`` (or ``1x02``) goes to its episode's place. Everything else stays where the download
left it, with a note saying why.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

from haul.core.media_items import Subject
from haul.media.naming import Templates, render

SUBTITLE_SUFFIXES = frozenset({".srt", ".vtt", ".ass", ".ssa", ".sub", ".idx", ".sup"})
#: Side files filed beside the main file under its name, by how their names end.
SIDE_ENDINGS = (".info.json", ".nfo")
THUMBNAIL_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp"})
_EPISODE = re.compile(r"(?i)(?:\bS(\d{1,3})[ ._-]?E(\d{1,4})|\b(\d{1,2})x(\d{2,3})\b)")
_SAMPLE = re.compile(r"(?i)(^|[ ._-])sample([ ._-]|$)")
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,4})?$")


@dataclass(frozen=True, slots=True)
class Found:
    """A finished file as the probe saw it."""

    path: Path
    size: int
    is_media: bool
    has_video: bool


@dataclass(frozen=True, slots=True)
class Planned:
    source: Path
    target: PurePosixPath  # relative to the library root
    role: Literal["main", "subtitle", "side", "episode"]
    #: A subtitle's or side file's name after the main file's name without extension
    #: (``.en.srt``, ``.nfo``, ``-thumb.jpg``): it follows the main file's final name.
    ending: str = ""


@dataclass(slots=True)
class Plan:
    files: list[Planned] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def plan(subject: Subject, found: Sequence[Found], templates: Templates) -> Plan:
    if subject.kind == "series":
        return _plan_series(subject, found, templates)
    result = Plan()
    main = main_file(found)
    if main is None:
        result.notes.append("nothing to import: no media file among the download's files")
        return result
    target = render(_template(subject, templates), _fields(subject, main.path.suffix))
    result.files.append(Planned(main.path, target, "main"))
    stem = target.name[: -len(target.suffix)]
    placed = {main.path}
    for f in found:
        if f.path.suffix.lower() in SUBTITLE_SUFFIXES:
            language = _subtitle_suffix(f.path)
            planned = Planned(f.path, target.with_name(stem + language), "subtitle", language)
            result.files.append(planned)
            placed.add(f.path)
        elif f is not main and (side := side_ending(f, main.path)) is not None:
            result.files.append(Planned(f.path, target.with_name(stem + side), "side", side))
            placed.add(f.path)
    skipped = [f for f in found if f.path not in placed]
    if skipped:
        names = ", ".join(sorted(f.path.name for f in skipped)[:5])
        result.notes.append(f"left in the download folder: {names}")
    return result


def side_ending(found: Found, main: Path) -> str | None:
    """How a side file of ``main`` ends its name beside it in the library (``.nfo``,
    ``.info.json``, ``-thumb.jpg``); None for a file that is none. A side file is named after
    its main file, as yt-dlp names them (``Clip [id].nfo`` beside ``Clip [id].mp4``): an NFO
    of another name (a release's notes in a torrent) is left where it is."""
    name = found.path.name
    for ending in SIDE_ENDINGS:
        if name.lower() == main.stem.lower() + ending:
            return ending
    suffix = found.path.suffix.lower()
    if suffix in THUMBNAIL_SUFFIXES and not found.is_media and found.path.stem == main.stem:
        return f"-thumb{suffix}"
    return None


def main_file(found: Sequence[Found]) -> Found | None:
    """The largest media file with video (samples aside), else the largest media file."""
    media = [f for f in found if f.is_media and f.path.suffix.lower() not in SUBTITLE_SUFFIXES]
    if not media:
        return None
    real = [f for f in media if not _SAMPLE.search(f.path.stem)] or media
    video = [f for f in real if f.has_video] or real
    return max(video, key=lambda f: f.size)


def episode_numbers(name: str) -> tuple[int, int] | None:
    """(season, episode) from a file name such as ``Show.S01E02.mkv`` or ``Show 1x02.mp4``."""
    m = _EPISODE.search(name)
    if m is None:
        return None
    season, episode = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
    return int(season), int(episode)


def _plan_series(subject: Subject, found: Sequence[Found], templates: Templates) -> Plan:
    result = Plan()
    unplaced = []
    for f in found:
        if not f.is_media or _SAMPLE.search(f.path.stem):
            continue
        numbers = episode_numbers(f.path.name)
        if numbers is None:
            unplaced.append(f.path.name)
            continue
        season, episode = numbers
        fields = {
            "series": subject.title,
            "title": None,
            "year": subject.year,
            "season": season,
            "episode": episode,
            "ext": f.path.suffix,
        }
        result.files.append(Planned(f.path, render(templates.episode, fields), "episode"))
    if unplaced:
        names = ", ".join(sorted(unplaced)[:5])
        result.notes.append(f"no season and episode number in the name of: {names}")
    if not result.files and not unplaced:
        result.notes.append("nothing to import: no media file among the download's files")
    return result


def _template(subject: Subject, templates: Templates) -> str:
    if subject.kind == "episode":
        return templates.episode
    if subject.kind == "trailer":
        return (
            templates.series_trailer if subject.parent_kind == "series" else templates.movie_trailer
        )
    return templates.movie


def _fields(subject: Subject, ext: str) -> dict[str, object]:
    if subject.kind == "episode":
        return {
            "series": subject.parent_title or subject.title,
            "title": subject.title,
            "episode_title": subject.title,
            "year": subject.parent_year,
            "season": subject.season,
            "episode": subject.episode,
            "ext": ext,
        }
    if subject.kind == "trailer" and subject.parent_title:
        return {"title": subject.parent_title, "year": subject.parent_year, "ext": ext}
    return {"title": subject.title, "year": subject.year, "ext": ext}


def _subtitle_suffix(path: Path) -> str:
    """``.en.srt`` from ``Film.en.srt``; ``.srt`` when the name carries no language tag."""
    parts = path.name.split(".")
    if len(parts) >= 3 and _LANGUAGE_TAG.match(parts[-2]):
        return f".{parts[-2].lower()}{path.suffix.lower()}"
    return path.suffix.lower()
