"""What a download profile may hold (pure): clean values, and a sentence for each bad one."""

from __future__ import annotations

import pytest

from haul.core.paths import stays_inside
from haul.core.profiles import check_profile
from haul.errors import InvalidProfile


def test_good_fields_are_cleaned() -> None:
    assert check_profile(
        {
            "name": " 720p ",
            "format": "bv*[height<=720]+ba/b",
            "container": "MKV",
            "subtitles": ["en", "pt-BR", "en", " "],
            "output_template": "%(uploader)s/%(title)s.%(ext)s",
            "target_dir": "./videos//tv/",
            "is_default": True,
        }
    ) == {
        "name": "720p",
        "format": "bv*[height<=720]+ba/b",
        "container": "mkv",
        "subtitles": ["en", "pt-BR"],
        "output_template": "%(uploader)s/%(title)s.%(ext)s",
        "target_dir": "videos/tv",
        "is_default": True,
    }


def test_empty_values_clear_a_field() -> None:
    assert check_profile(
        {"format": " ", "container": "", "subtitles": None, "output_template": None}
    ) == {"format": None, "container": None, "subtitles": [], "output_template": None}
    assert check_profile({"target_dir": "."}) == {"target_dir": None}
    assert check_profile({"subtitles": "en, de"}) == {"subtitles": ["en", "de"]}


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("name", "../x", "A profile name is 1 to 100 letters"),
        ("name", "", "A profile name is"),
        ("name", "a" * 101, "A profile name is"),
        ("container", "exe", "container must be one of: avi, flv, mkv, mov, mp4, webm"),
        ("subtitles", ["en", "english please"], "'english please' is not a language code"),
        ("subtitles", 3, "subtitles must be a list of language codes"),
        ("output_template", "../../x", "output_template must be a relative path"),
        ("output_template", "/etc/%(title)s", "output_template must be a relative path"),
        ("output_template", "C:\\x.%(ext)s", "output_template must be a relative path"),
        ("output_template", "~/x", "output_template must be a relative path"),
        ("output_template", "-", "output_template must be a relative path"),
        ("target_dir", "../outside", "target_dir must be a folder inside the download folder"),
        ("target_dir", "/srv/media", "target_dir must be a folder inside the download folder"),
        ("target_dir", "a/../../b", "target_dir must be a folder inside the download folder"),
        ("target_dir", ".haul-work", "no hidden folder"),
        ("format", "a\x00b", "format cannot hold control characters."),
        ("is_default", "yes", "is_default must be true or false."),
        ("colour", "red", "A profile has no field 'colour'"),
    ],
)
def test_bad_fields_get_a_sentence(field: str, value: object, words: str) -> None:
    with pytest.raises(InvalidProfile) as caught:
        check_profile({field: value})
    assert list(caught.value.problems) == [field]
    assert words in caught.value.problems[field]


def test_every_bad_field_is_named_at_once() -> None:
    with pytest.raises(InvalidProfile) as caught:
        check_profile({"name": "ok", "container": "exe", "target_dir": "../x"})
    assert set(caught.value.problems) == {"container", "target_dir"}


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("a/b", True),
        ("%(title)s.%(ext)s", True),
        ("..", False),
        ("a/..", False),
        ("a\\..\\..\\b", False),
        ("\\\\server\\share\\x", False),
        ("D:x", False),
        ("", False),
        ("   ", False),
    ],
)
def test_stays_inside(text: str, ok: bool) -> None:
    assert stays_inside(text) is ok


def test_fragments_at_once_are_1_to_16_and_empty_is_the_default() -> None:
    assert check_profile({"concurrent_fragments": "8"}) == {"concurrent_fragments": 8}
    assert check_profile({"concurrent_fragments": None}) == {"concurrent_fragments": 4}
    assert check_profile({"concurrent_fragments": ""}) == {"concurrent_fragments": 4}
    for bad in (0, 17, "many", True, 2.5):
        with pytest.raises(InvalidProfile) as caught:
            check_profile({"concurrent_fragments": bad})
        assert "from 1 to 16" in caught.value.problems["concurrent_fragments"]
