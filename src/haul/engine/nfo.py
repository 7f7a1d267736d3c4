"""A Kodi/Jellyfin NFO from what yt-dlp learned of a page (pure: a dict in, XML bytes out).

A page that names a series and an episode number gives an ``<episodedetails>``, any other a
``<movie>``: title, plot (the description), premiered (and aired for an episode) with the
year, studio (the uploader or channel), runtime in minutes and a ``<uniqueid>`` whose type is
the extractor and whose value is the page's id. Every value comes from the remote site and is
untrusted: the XML writer escapes it, and characters XML 1.0 cannot hold at all (most control
characters) are dropped first, so the file always parses.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

#: Characters outside XML 1.0's ``Char`` production.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
MAX_TEXT = 20_000


def _clean(value: object) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    text = _NOT_XML.sub("", str(value)).strip()
    return text[:MAX_TEXT] or None


def _date(info: Mapping[str, Any]) -> str | None:
    for key in ("release_date", "upload_date"):
        found = _DATE.fullmatch(str(info.get(key) or ""))
        if found:
            return "-".join(found.groups())
    return None


def _number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and value >= 0:
        return int(value)
    return None


def is_episode(info: Mapping[str, Any]) -> bool:
    """Whether the page is an episode of a series (a series name and an episode number)."""
    return bool(_clean(info.get("series"))) and _number(info.get("episode_number")) is not None


def nfo_xml(info: Mapping[str, Any]) -> bytes:
    """The NFO of one downloaded page, UTF-8 with an XML declaration."""
    episode = is_episode(info)
    root = ET.Element("episodedetails" if episode else "movie")

    def add(tag: str, value: object, **attributes: str) -> None:
        text = _clean(value)
        if text is not None:
            ET.SubElement(root, tag, attributes).text = text

    add("title", info.get("title") or info.get("fulltitle"))
    if episode:
        add("showtitle", info.get("series"))
        add("season", _number(info.get("season_number")))
        add("episode", _number(info.get("episode_number")))
    add("plot", info.get("description"))
    date = _date(info)
    if date is not None:
        add("premiered", date)
        if episode:
            add("aired", date)
        add("year", date[:4])
    add("studio", info.get("uploader") or info.get("channel"))
    duration = info.get("duration")
    if isinstance(duration, int | float) and not isinstance(duration, bool) and duration > 0:
        add("runtime", max(1, round(duration / 60)))
    source = _clean(info.get("extractor_key") or info.get("extractor"))
    page_id = _clean(info.get("id"))
    if source and page_id:
        add("uniqueid", page_id, type=source.lower(), default="true")
    ET.indent(root)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body + b"\n"


#: The largest NFO :func:`for_item` reads (haul's own are a few kilobytes).
MAX_NFO = 1 << 20
#: The fields that make an NFO an episode's, dropped when it is filed for another kind.
_EPISODE_TAGS = ("showtitle", "season", "episode", "aired")


def for_item(
    data: bytes,
    title: str,
    year: int | None,
    *,
    series: str | None = None,
    season: int | None = None,
    episode: int | None = None,
) -> bytes | None:
    """The NFO ``data`` (one written beside a page's download) as the library item it is filed
    for names itself: ``title`` and ``year`` instead of the page's, and for an episode
    (``series`` given) its series, season and episode number; every other field (plot, date,
    studio, runtime, the page's id) is kept as it was, but a premiered or aired date of
    another year than ``year`` (the page's upload, not the item's release) goes. None when
    ``data`` is not such an NFO
    (too large, not XML, a document type declaration, another root): it is then left alone."""
    lowered = data.lower()
    if len(data) > MAX_NFO or b"<!doctype" in lowered or b"<!entity" in lowered:
        return None
    try:
        root = ET.fromstring(data)  # noqa: S314 (no DTD, so no entities; at most 1 MB)
    except ET.ParseError:
        return None
    if root.tag not in ("movie", "episodedetails"):
        return None
    old = list(root)
    for child in old:
        root.remove(child)
    root.tag = "episodedetails" if series is not None else "movie"
    page_year = next((c.text for c in old if c.tag == "year"), None)

    def agrees(child: ET.Element) -> bool:
        # The page's date beside the item's year only when it falls in that year: a film
        # filed as "2019" whose NFO says it premiered in 2024 (the upload) reads as a mistake.
        return year is None or (child.text or "").strip()[:4] == str(year)

    kept = [
        c
        for c in old
        if c.tag not in ("title", "year", *_EPISODE_TAGS) and (c.tag != "premiered" or agrees(c))
    ]
    aired = next((c.text for c in old if c.tag == "aired" and agrees(c)), None)

    def add(tag: str, value: object) -> None:
        text = _clean(value)
        if text is not None:
            ET.SubElement(root, tag).text = text

    add("title", title)
    if series is not None:
        add("showtitle", series)
        add("season", season)
        add("episode", episode)
    for child in kept:
        root.append(child)
    if series is not None:
        add("aired", aired)
    add("year", year if year is not None else page_year)
    for child in root:
        child.tail = None
    ET.indent(root)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body + b"\n"
