"""Naming templates: the paths media servers read, and names that cannot escape or break."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from haul.errors import InvalidTemplate
from haul.media.naming import (
    EPISODE_TEMPLATE,
    MOVIE_TEMPLATE,
    MOVIE_TRAILER_TEMPLATE,
    check_template,
    render,
    safe_segment,
    with_suffix_number,
)


def test_default_movie_layout() -> None:
    path = render(MOVIE_TEMPLATE, {"title": "Blade Runner", "year": 1982, "ext": ".MKV"})
    assert path == PurePosixPath("Movies/Blade Runner (1982)/Blade Runner (1982).mkv")


def test_movie_without_a_year_drops_the_brackets() -> None:
    path = render(MOVIE_TEMPLATE, {"title": "Home Video", "year": None, "ext": ".mp4"})
    assert path == PurePosixPath("Movies/Home Video/Home Video.mp4")


def test_default_episode_layout() -> None:
    fields = {"series": "The Wire", "season": 1, "episode": 2, "ext": ".mp4"}
    path = render(EPISODE_TEMPLATE, fields)
    assert path == PurePosixPath("Series/The Wire/Season 01/The Wire - S01E02.mp4")


def test_trailer_sits_beside_the_film() -> None:
    fields = {"title": "Heat", "year": 1995, "ext": ".webm"}
    film = render(MOVIE_TEMPLATE, {**fields, "ext": ".mkv"})
    trailer = render(MOVIE_TRAILER_TEMPLATE, fields)
    assert trailer.parent == film.parent
    assert trailer.name == "Heat (1995)-trailer.webm"


@pytest.mark.parametrize(
    ("hostile", "expected_title"),
    [
        ("../../etc/passwd", "-..-etc-passwd"),
        ("AC/DC: Live", "AC-DC Live"),
        ("..", "_"),
        ("CON", "_CON"),
        ("a\x00b\nc", "a-b c"),
        ("trailing dots...", "trailing dots"),
        ("  .hidden", "hidden"),
    ],
)
def test_hostile_titles_stay_one_safe_segment(hostile: str, expected_title: str) -> None:
    path = render("Movies/{title}/{title}{ext}", {"title": hostile, "ext": ".mkv"})
    assert len(path.parts) == 3
    assert path.parts[1] == expected_title
    assert path.parts[2] in (f"{expected_title}.mkv", "file.mkv")
    assert ".." not in path.parts
    assert not path.is_absolute()


def test_long_names_are_cut_on_a_character_boundary() -> None:
    title = "é" * 400
    name = render("{title}{ext}", {"title": title, "ext": ".mkv"}).name
    assert len(name.encode()) <= 255
    assert name.endswith(".mkv")
    name.encode().decode()  # still valid UTF-8


def test_hostile_extension_is_reduced_to_letters() -> None:
    path = render(MOVIE_TEMPLATE, {"title": "X", "year": 2000, "ext": "./../sh"})
    assert path.name == "X (2000).sh"


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("", "empty"),
        ("/abs/{title}{ext}", "relative"),
        ("../{title}{ext}", "climb"),
        ("Movies/{name}{ext}", "{name}"),
        ("Movies/{title}", "{ext}"),
        ("Movies/{title{ext}", "malformed"),
    ],
)
def test_bad_templates_are_refused_with_a_sentence(template: str, words: str) -> None:
    with pytest.raises(InvalidTemplate) as caught:
        check_template(template)
    assert words in caught.value.message


def test_safe_segment_and_free_names() -> None:
    assert safe_segment('a<b>c:"d"|e?f*g') == "a b c d e f g"
    assert with_suffix_number("Heat (1995).mkv", 2) == "Heat (1995) (2).mkv"
    assert with_suffix_number("README", 3) == "README (3)"
