"""The NFO haul writes beside a downloaded page's file: parses, escapes what the site sent,
movie or episode."""

from __future__ import annotations

import xml.etree.ElementTree as ET  # the text is haul's own output, parsed to check it
from typing import Any

from haul.engine.nfo import MAX_NFO, for_item, nfo_xml


def parsed(info: dict[str, Any]) -> ET.Element:
    return ET.fromstring(nfo_xml(info))  # noqa: S314


def test_a_page_becomes_a_movie_nfo() -> None:
    root = parsed(
        {
            "title": "A film",
            "description": "What happens.",
            "upload_date": "20240229",
            "uploader": "Studio",
            "duration": 5400.4,
            "extractor_key": "Youtube",
            "id": "dQw4w9WgXcQ",
        }
    )
    assert root.tag == "movie"
    assert {child.tag: child.text for child in root} == {
        "title": "A film",
        "plot": "What happens.",
        "premiered": "2024-02-29",
        "year": "2024",
        "studio": "Studio",
        "runtime": "90",
        "uniqueid": "dQw4w9WgXcQ",
    }
    assert root.find("uniqueid").attrib == {"type": "youtube", "default": "true"}  # type: ignore[union-attr]


def test_hostile_text_is_escaped_and_what_xml_cannot_hold_is_dropped() -> None:
    title = '</title><script>alert(1)</script> & "x" \x00\x07\x1b\ufffe end'
    body = nfo_xml({"title": title, "description": "]]> <!ENTITY x 'y'>", "id": "a\x01b"})
    root = ET.fromstring(body)  # noqa: S314
    assert root.findtext("title") == '</title><script>alert(1)</script> & "x"  end'
    assert root.findtext("plot") == "]]> <!ENTITY x 'y'>"
    assert b"<script>" not in body and b"\x00" not in body
    assert root.find("uniqueid") is None  # no extractor named: no source for the id


def test_an_episode_of_a_series_is_an_episode_nfo() -> None:
    root = parsed(
        {
            "title": "Pilot",
            "series": "The Show",
            "season_number": 1,
            "episode_number": 2,
            "release_date": "20200105",
            "upload_date": "20200107",
            "channel": "Network",
            "extractor": "generic",
            "id": "ep2",
        }
    )
    assert root.tag == "episodedetails"
    assert [root.findtext(t) for t in ("showtitle", "season", "episode")] == ["The Show", "1", "2"]
    assert root.findtext("premiered") == root.findtext("aired") == "2020-01-05"
    assert root.findtext("studio") == "Network"
    assert root.find("uniqueid").attrib["type"] == "generic"  # type: ignore[union-attr]


def test_missing_or_odd_values_are_left_out() -> None:
    root = parsed({"title": "  ", "upload_date": "2024", "duration": True, "uploader": None})
    assert root.tag == "movie"
    assert list(root) == []


def test_filed_for_an_item_it_says_the_items_title_and_year() -> None:
    page = nfo_xml(
        {
            "title": "page (1)",
            "description": "What the page says.",
            "upload_date": "20240102",
            "uploader": "Someone",
            "duration": 125,
            "extractor_key": "Generic",
            "id": "abc",
        }
    )
    named = for_item(page, "Kodi Film", 2019)
    assert named is not None
    root = ET.fromstring(named)  # noqa: S314
    assert root.tag == "movie"
    assert root.findtext("title") == "Kodi Film" and root.findtext("year") == "2019"
    assert [e.text for e in root.findall("title")] == ["Kodi Film"]
    assert root.findtext("plot") == "What the page says."
    assert root.findtext("studio") == "Someone"
    # the page's date (its upload, 2024) would contradict the item's year: it goes
    assert root.findtext("premiered") is None
    assert root.findtext("runtime") == "2" and root.findtext("uniqueid") == "abc"
    # an item without a year keeps the page's
    kept = ET.fromstring(for_item(page, "<Film & Co>", None) or b"")  # noqa: S314
    assert kept.findtext("title") == "<Film & Co>" and kept.findtext("year") == "2024"
    assert kept.findtext("premiered") == "2024-01-02"
    # a date of the item's own year stays
    same = ET.fromstring(for_item(page, "Kodi Film", 2024) or b"")  # noqa: S314
    assert same.findtext("premiered") == "2024-01-02" and same.findtext("year") == "2024"


def test_filed_for_an_episode_it_becomes_the_episodes() -> None:
    page = nfo_xml({"title": "clip", "upload_date": "20240102"})
    named = ET.fromstring(  # noqa: S314
        for_item(page, "The Detail", 2002, series="The Wire", season=1, episode=2) or b""
    )
    assert named.tag == "episodedetails"
    assert named.findtext("title") == "The Detail" and named.findtext("showtitle") == "The Wire"
    assert named.findtext("season") == "1" and named.findtext("episode") == "2"
    assert named.findtext("year") == "2002"
    assert named.findtext("aired") is None and named.findtext("premiered") is None


def test_what_is_not_an_nfo_of_a_page_is_left_alone() -> None:
    assert for_item(b"release notes, not XML", "Film", 2000) is None
    assert for_item(b"<?xml version='1.0'?><tvshow><title>x</title></tvshow>", "F", 1) is None
    bomb = b'<?xml version="1.0"?><!DOCTYPE movie [<!ENTITY a "aaaa">]><movie>&a;</movie>'
    assert for_item(bomb, "Film", 2000) is None
    assert for_item(b"<movie>" + b"x" * (MAX_NFO + 1) + b"</movie>", "Film", 2000) is None
