"""What a profile may ask of yt-dlp beyond format and container (pure checks): audio only,
embedding and side files, SponsorBlock categories, and the fields that do not go together."""

from __future__ import annotations

import pytest

from haul.core.profiles import (
    AUDIO_FORMATS,
    FLAGS,
    SPONSORBLOCK_CATEGORIES,
    check_profile,
    combination_problems,
)
from haul.errors import InvalidProfile


def test_every_audio_format_the_form_offers_is_taken() -> None:
    assert AUDIO_FORMATS == ("mp3", "m4a", "opus", "flac", "wav", "best")
    for name in AUDIO_FORMATS:
        assert check_profile({"audio_format": name.upper()}) == {"audio_format": name}
    assert check_profile({"audio_format": ""}) == {"audio_format": None}
    assert check_profile({"audio_format": None}) == {"audio_format": None}


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("0", "0"),
        ("10", "10"),
        (5, "5"),
        ("192K", "192K"),
        ("192k", "192K"),
        ("320k", "320K"),
        ("16K", "16K"),
        ("1536k", "1536K"),
        (" 96K ", "96K"),
        ("", None),
    ],
)
def test_audio_quality_is_a_vbr_level_or_a_bitrate(given: object, kept: str | None) -> None:
    assert check_profile({"audio_quality": given}) == {"audio_quality": kept}


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("audio_format", "aac", "audio_format must be one of: mp3, m4a, opus, flac, wav, best"),
        ("audio_format", 3, "audio_format must be text."),
        ("audio_quality", "4K", "audio_quality is a VBR level from 0 (best) to 10"),
        ("audio_quality", "-1", "audio_quality is a VBR level"),
        ("audio_quality", "2000K", "a bitrate from 16K to 1536K"),
        ("audio_quality", "8K", "a bitrate from 16K to 1536K"),
        ("audio_quality", "11", "A quality level is 0 (best) to 10; a bitrate ends in K, like"),
        ("audio_quality", "192", "a bitrate ends in K, like 192K"),
        ("audio_quality", 320, "a bitrate ends in K, like 192K"),
        ("audio_quality", "2.5", "audio_quality is a VBR level"),
        ("audio_quality", "192 kbps", "audio_quality is a VBR level"),
        ("audio_quality", True, "audio_quality must be text."),
        ("embed_metadata", "yes", "embed_metadata must be true or false."),
        ("write_nfo", 1, "write_nfo must be true or false."),
        ("sponsorblock_remove", ["sponsor", "ads"], "'ads' is not a SponsorBlock category"),
        ("sponsorblock_remove", ["chapter"], "sponsorblock_remove takes; choose from: sponsor"),
        ("sponsorblock_remove", ["poi_highlight"], "'poi_highlight' is not a SponsorBlock"),
        ("sponsorblock_mark", 7, "sponsorblock_mark must be a list of SponsorBlock categories"),
        ("sponsorblock_mark", ["<script>"], "'<script>' is not a SponsorBlock category"),
    ],
)
def test_bad_media_fields_get_a_sentence(field: str, value: object, words: str) -> None:
    with pytest.raises(InvalidProfile) as caught:
        check_profile({field: value})
    assert list(caught.value.problems) == [field]
    assert words in caught.value.problems[field]


def test_flags_are_yes_or_no() -> None:
    assert check_profile(dict.fromkeys(FLAGS, True)) == dict.fromkeys(FLAGS, True)
    assert check_profile(dict.fromkeys(FLAGS, False)) == dict.fromkeys(FLAGS, False)


def test_sponsorblock_categories_are_cleaned_in_order_without_repeats() -> None:
    assert check_profile(
        {"sponsorblock_remove": "Sponsor, selfpromo,,sponsor", "sponsorblock_mark": None}
    ) == {"sponsorblock_remove": ["sponsor", "selfpromo"], "sponsorblock_mark": []}
    every = list(SPONSORBLOCK_CATEGORIES)
    assert check_profile({"sponsorblock_mark": every}) == {"sponsorblock_mark": every}


def test_an_audio_profile_has_no_container_and_a_quality_needs_audio() -> None:
    assert combination_problems({"audio_format": "mp3", "audio_quality": "0"}) == {}
    assert combination_problems({"container": "mkv", "audio_format": None}) == {}
    assert set(combination_problems({"audio_format": "m4a", "container": "mp4"})) == {"container"}
    assert (
        "needs an audio_format" in combination_problems({"audio_quality": "192K"})["audio_quality"]
    )
    lossless = combination_problems({"audio_format": "flac", "audio_quality": "0"})
    assert lossless == {
        "audio_quality": "audio_quality is for lossy formats; flac is lossless: leave it empty."
    }
    assert combination_problems({"audio_format": "wav", "audio_quality": None}) == {}
