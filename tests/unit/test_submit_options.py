"""What a submit asks for: the value every interface makes, and the columns the store writes."""

from dataclasses import FrozenInstanceError, replace

import pytest

from haul.core.sources import parse_source
from haul.core.submit_options import (
    DEFAULT_OPTIONS,
    PRIORITY_HIGHEST,
    PRIORITY_LOWEST,
    IptvEntry,
    SubmitOptions,
)
from haul.store.submits import NewDownload, option_columns

IPTV_COLUMNS = ("iptv_provider_id", "iptv_kind", "iptv_ref", "season", "episode")
CHOICE_COLUMNS = ("format", "audio_format", "audio_quality")


def test_asking_for_nothing_is_an_unpaused_routed_download_with_the_default_profile() -> None:
    assert SubmitOptions() == DEFAULT_OPTIONS
    assert option_columns(DEFAULT_OPTIONS) == {
        "desired_paused": False,
        "priority": 0,
        "media_id": None,
        "requested_client": None,
        "title": None,
        **dict.fromkeys(IPTV_COLUMNS),
        **dict.fromkeys(CHOICE_COLUMNS),
        "speed_limit": None,
    }


def test_every_option_lands_in_its_column() -> None:
    options = SubmitOptions(
        profile="audio",
        client="aria2",
        media_id=4,
        force=True,
        paused=True,
        priority=5,
        title="Heat",
        speed_limit=2_000_000,
    )
    columns = option_columns(options)
    assert columns["speed_limit"] == 2_000_000
    assert columns["desired_paused"] is True
    assert columns["priority"] == 5
    assert columns["media_id"] == 4
    assert columns["requested_client"] == "aria2"
    assert columns["title"] == "Heat"


def test_a_format_and_audio_chosen_land_in_their_columns() -> None:
    options = SubmitOptions(format="bv*[height<=480]+ba/b", audio_format="mp3", audio_quality="5")
    assert options.chooses_format
    assert {k: option_columns(options)[k] for k in CHOICE_COLUMNS} == {
        "format": "bv*[height<=480]+ba/b",
        "audio_format": "mp3",
        "audio_quality": "5",
    }
    assert not DEFAULT_OPTIONS.chooses_format
    with pytest.raises(ValueError, match="goes with an audio format"):
        SubmitOptions(audio_quality="5")


def test_the_profile_and_force_are_read_at_submit_not_stored_as_asked() -> None:
    # the profile is stored as its id (the batch looks the name up); force is a check only
    columns = option_columns(SubmitOptions(profile="audio", media_id=1, force=True))
    assert "profile" not in columns
    assert "force" not in columns


@pytest.mark.parametrize(
    ("title", "name", "stored"),
    [
        (None, None, None),
        ("Mine", "debian.iso", "Mine"),
        (None, "debian.iso", "debian.iso"),
        ("", "debian.iso", "debian.iso"),
        ("", None, ""),
    ],
)
def test_a_torrents_name_is_its_title_when_none_is_given(
    title: str | None, name: str | None, stored: str | None
) -> None:
    assert option_columns(SubmitOptions(title=title), source_name=name)["title"] == stored


def test_an_episode_keeps_its_catalogue_entry() -> None:
    entry = IptvEntry(3, "episode", "991", season=2, episode=5)
    columns = option_columns(SubmitOptions(media_id=8, iptv=entry))
    assert {k: columns[k] for k in IPTV_COLUMNS} == {
        "iptv_provider_id": 3,
        "iptv_kind": "episode",
        "iptv_ref": "991",
        "season": 2,
        "episode": 5,
    }


@pytest.mark.parametrize("priority", [PRIORITY_LOWEST, 0, PRIORITY_HIGHEST])
def test_priorities_in_range_are_kept(priority: int) -> None:
    assert SubmitOptions(priority=priority).priority == priority


@pytest.mark.parametrize("priority", [PRIORITY_LOWEST - 1, PRIORITY_HIGHEST + 1])
def test_a_priority_out_of_range_is_refused(priority: int) -> None:
    with pytest.raises(ValueError, match="a priority is from -100 to 100"):
        SubmitOptions(priority=priority)


def test_only_a_positive_priority_goes_to_the_front() -> None:
    assert SubmitOptions(priority=1).to_front
    assert not SubmitOptions(priority=0).to_front
    assert not SubmitOptions(priority=-5).to_front


def test_an_iptv_download_is_for_a_media_item() -> None:
    with pytest.raises(ValueError, match="for a media item"):
        SubmitOptions(iptv=IptvEntry(1, "movie", "7"))


def test_a_film_has_no_episode_number() -> None:
    with pytest.raises(ValueError, match="no season or episode"):
        IptvEntry(1, "movie", "7", season=1)


def test_an_iptv_entry_is_a_film_or_an_episode() -> None:
    with pytest.raises(ValueError, match="movie or an episode"):
        IptvEntry(1, "live", "7")  # type: ignore[arg-type]


def test_options_are_passed_on_unchanged() -> None:
    options = SubmitOptions(paused=True)
    with pytest.raises(FrozenInstanceError):
        options.paused = False  # type: ignore[misc]
    assert replace(options, media_id=2) == SubmitOptions(paused=True, media_id=2)
    with pytest.raises(TypeError):
        SubmitOptions("audio")  # type: ignore[misc]  # by name only: no mixed-up positions


def test_a_new_download_claims_its_media_item_only_when_told_to() -> None:
    source = parse_source("https://example.org/a.mkv")
    asked = SubmitOptions(media_id=6)
    assert NewDownload(source, "local", asked).exclusive_media is None
    assert NewDownload(source, "local", asked, media_exclusive=True).exclusive_media == 6
    assert NewDownload(source, "local", media_exclusive=True).exclusive_media is None
