"""Xtream Codes JSON as real panels send it -> catalogue values, and clear errors otherwise."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from haul.core.numbers import as_int
from haul.errors import IptvNotFound, ProviderAuthFailed, ProviderBadAnswer
from haul.iptv import parsing
from haul.iptv.catalog import Episode


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (12, 12),
        ("12", 12),
        (" 12 ", 12),
        (12.0, 12),
        ("12.0", 12),
        ("-3", -3),
        ("", None),
        ("  ", None),
        (None, None),
        ("null", None),
        ("12a", None),
        (True, None),
        ([], None),
        (12.5, None),
    ],
)
def test_as_int_takes_ints_in_any_dress(raw: Any, expected: int | None) -> None:
    assert as_int(raw) == expected


@pytest.mark.parametrize(
    ("name", "title", "year"),
    [
        ("The Matrix (1999)", "The Matrix", 1999),
        ("Planète Océan [2012]", "Planète Océan", 2012),
        ("Le Fabuleux Destin - 2001", "Le Fabuleux Destin", 2001),
        ("1917 (2019)", "1917", 2019),
        ("Blade Runner 2049", "Blade Runner 2049", None),
        ("(2019)", "(2019)", None),
        ("Plain", "Plain", None),
        ("Spider-Man (2002) ", "Spider-Man", 2002),
    ],
)
def test_split_year_finds_a_year_at_the_end_of_a_name(
    name: str, title: str, year: int | None
) -> None:
    assert parsing.split_year(name) == (title, year)


def test_a_vod_list_with_every_quirk() -> None:
    data = [
        {
            "num": 1,
            "name": "The Matrix (1999)",
            "stream_id": 101,
            "stream_icon": "http://img/m.jpg",
            "rating": "8.7",
            "added": "1600000000",
            "category_id": "10",
            "container_extension": "MKV",
            "tmdb": "603",
            "custom_sid": "",
        },
        {
            "name": "Amélie",
            "stream_id": "102",
            "stream_icon": "",
            "rating": "",
            "added": 0,
            "category_id": 10,
            "category_ids": [10, "12"],
            "container_extension": "",
            "year": "2001",
            "tmdb_id": 194,
            "imdb": "tt0211915",
        },
        {"name": "no id at all", "stream_id": ""},  # skipped, not fatal
        "not an object",
        {
            "name": "Broken numbers",
            "stream_id": 7.0,
            "rating": "n/a",
            "tmdb": "0",
            "container_extension": "../../etc",
            "releaseDate": "2010-05-01",
            "imdb": "not-an-imdb",
        },
    ]
    matrix, amelie, broken = parsing.parse_vod_streams(data)

    assert (matrix.stream_id, matrix.title, matrix.year) == (101, "The Matrix", 1999)
    assert matrix.name == "The Matrix (1999)" and matrix.display_name == "The Matrix (1999)"
    assert (matrix.category_id, matrix.container_extension, matrix.rating) == ("10", "mkv", 8.7)
    assert matrix.tmdb == 603 and matrix.cover == "http://img/m.jpg"
    assert matrix.added == datetime(2020, 9, 13, 12, 26, 40, tzinfo=UTC)

    assert (amelie.stream_id, amelie.title, amelie.year) == (102, "Amélie", 2001)
    assert amelie.category_id == "10" and amelie.category_ids == ("10", "12")
    assert amelie.container_extension == "mp4"  # missing: the protocol's usual default
    assert amelie.rating is None and amelie.added is None and amelie.cover is None
    assert (amelie.tmdb, amelie.imdb) == (194, "tt0211915")

    assert broken.stream_id == 7 and broken.rating is None and broken.tmdb is None
    assert broken.container_extension == "mp4"  # never a path piece from the panel
    assert broken.year == 2010 and broken.imdb is None


@pytest.mark.parametrize("empty", [None, [], {}])
def test_an_empty_list_is_nothing(empty: Any) -> None:
    assert parsing.parse_vod_streams(empty) == []
    assert parsing.parse_series_list(empty) == []
    assert parsing.parse_categories(empty) == []


def test_a_list_keyed_by_index_is_a_list() -> None:
    data = {"0": {"series_id": "5", "name": "Five"}, "1": {"series_id": 6, "name": "Six (2006)"}}
    found = parsing.parse_series_list(data)
    assert [(s.series_id, s.title, s.year) for s in found] == [(5, "Five", None), (6, "Six", 2006)]


@pytest.mark.parametrize("bad", ["<html>", 42, True])
def test_a_list_of_the_wrong_shape_is_a_bad_answer_with_a_sentence(bad: Any) -> None:
    with pytest.raises(ProviderBadAnswer, match="list of VOD streams is not a list"):
        parsing.parse_vod_streams(bad)


def test_an_auth_failure_answered_to_an_action_is_an_auth_error() -> None:
    with pytest.raises(ProviderAuthFailed):
        parsing.parse_vod_streams({"user_info": {"auth": 0}})


def test_categories_with_ids_of_both_kinds() -> None:
    data = [
        {"category_id": "10", "category_name": "Films", "parent_id": 0},
        {"category_id": 11, "category_name": "", "parent_id": "10"},
        {"category_name": "no id"},
    ]
    films, docs = parsing.parse_categories(data)
    assert (films.id, films.name, films.parent_id) == ("10", "Films", None)
    assert (docs.id, docs.name, docs.parent_id) == ("11", "Category 11", "10")


def test_vod_info_merges_movie_data_and_info() -> None:
    data = {
        "info": {
            "tmdb_id": "603",
            "name": "The Matrix",
            "o_name": "The Matrix",
            "movie_image": "http://img/poster.jpg",
            "releasedate": "1999-03-30",
            "youtube_trailer": "vKQi3bBA1y8",
            "duration": "02:16:00",
            "rating": "8.7",
            "backdrop_path": ["http://img/wide.jpg", ""],
            "cast": "",
        },
        "movie_data": {
            "stream_id": "101",
            "name": "The Matrix (1999)",
            "container_extension": "mkv",
            "category_id": "10",
            "custom_sid": "",
        },
    }
    info = parsing.parse_vod_info(data, 101)
    assert info.stream.stream_id == 101 and info.stream.container_extension == "mkv"
    assert (info.stream.title, info.stream.year, info.stream.tmdb) == ("The Matrix", 1999, 603)
    assert info.stream.cover == "http://img/poster.jpg"
    assert info.duration == 2 * 3600 + 16 * 60
    assert info.trailer == "vKQi3bBA1y8" and info.backdrops == ("http://img/wide.jpg",)
    assert info.cast is None and info.release_date == "1999-03-30"


def test_vod_info_with_info_as_an_empty_list() -> None:
    data = {"info": [], "movie_data": {"stream_id": 5, "name": "X", "container_extension": "avi"}}
    info = parsing.parse_vod_info(data, "5")
    assert info.stream.container_extension == "avi" and info.plot is None


@pytest.mark.parametrize("answer", [{"info": [], "movie_data": []}, [], {}, None])
def test_an_unknown_film_is_not_found(answer: Any) -> None:
    with pytest.raises(IptvNotFound, match="no film with the id 999"):
        parsing.parse_vod_info(answer, 999)


def test_vod_info_of_the_wrong_shape_is_a_bad_answer() -> None:
    with pytest.raises(ProviderBadAnswer, match="not an object"):
        parsing.parse_vod_info("Access denied", 1)


def _episode(eid: Any, num: Any, title: str, ext: str = "mkv", **extra: Any) -> dict[str, Any]:
    return {
        "id": eid,
        "episode_num": num,
        "title": title,
        "container_extension": ext,
        "info": {"duration_secs": "2700"},
        **extra,
    }


def test_series_info_with_episodes_keyed_by_season_string() -> None:
    data = {
        "seasons": [{"season_number": "1", "name": "Staffel 1", "air_date": "2017-12-01"}],
        "info": {"name": "Dark (2017)", "tmdb": "70523", "category_id": "20"},
        "episodes": {
            "2": [_episode(2011, 1, "Dark - S02E01 - Beginnings and Endings", "mp4")],
            "1": [
                _episode("2002", "2", "Dark - S01E02 - Lies", season="1"),
                _episode(2001, 1, "Dark - S01E01 - Secrets", season=1),
                _episode("", 3, "no id"),
            ],
        },
    }
    info = parsing.parse_series_info(data, "201")
    assert (info.series.series_id, info.series.title, info.series.year) == (201, "Dark", 2017)
    assert info.series.tmdb == 70523
    assert [s.number for s in info.seasons] == [1, 2]
    one, two = info.seasons
    assert (one.name, one.air_date, two.name) == ("Staffel 1", "2017-12-01", "Season 2")
    assert [(e.id, e.code) for e in one.episodes] == [(2001, "S01E01"), (2002, "S01E02")]
    assert two.episodes[0].container_extension == "mp4"
    assert one.episodes[0].duration == 2700
    assert info.episode("2002") == one.episodes[1] and info.episode(9) is None
    assert len(info.episodes) == 3


def test_series_info_with_episodes_as_lists() -> None:
    per_season = {
        "info": {"name": "Élite"},
        "episodes": [
            [_episode(1, 1, "a", season=1), _episode(2, 2, "b", season=1)],
            [_episode(3, 1, "c", season=2)],
        ],
    }
    flat = {
        "info": {"name": "Élite"},
        "episodes": [_episode(1, 1, "a", season=1), _episode(3, 1, "c", season="2")],
    }
    assert [len(s.episodes) for s in parsing.parse_series_info(per_season, 202).seasons] == [2, 1]
    assert [s.number for s in parsing.parse_series_info(flat, 202).seasons] == [1, 2]


def test_series_info_with_info_as_an_empty_list_still_has_its_episodes() -> None:
    data = {"seasons": [], "info": [], "episodes": {"1": [_episode("7", "1", "Heat", info=[])]}}
    info = parsing.parse_series_info(data, 203)
    assert info.series.name == "Series 203" and info.series.year is None
    assert info.episodes[0].id == 7 and info.episodes[0].duration is None


def test_a_season_taken_from_the_key_when_the_episode_does_not_say() -> None:
    data = {"info": {"name": "S"}, "episodes": {"3": [{"id": 1, "episode_num": 4, "title": "t"}]}}
    (episode,) = parsing.parse_series_info(data, 1).episodes
    assert (episode.season, episode.episode_num, episode.container_extension) == (3, 4, "mp4")


@pytest.mark.parametrize(
    "answer", [{"seasons": [], "info": [], "episodes": []}, [], {}, {"info": [], "episodes": {}}]
)
def test_an_unknown_series_is_not_found(answer: Any) -> None:
    with pytest.raises(IptvNotFound, match="no series with the id 999"):
        parsing.parse_series_info(answer, 999)


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Dark - S01E02 - Lies", "Lies"),
        ("Dark S01E02: Lies", "Lies"),
        ("Dark - S01E02", None),
        ("S01E02", None),
        ("Lies", "Lies"),
        ("Dark", None),
    ],
)
def test_what_an_episode_title_adds(title: str, expected: str | None) -> None:
    episode = Episode(1, 1, 2, title, "mkv")
    assert parsing.episode_title(episode, "Dark") == expected


def _account(**user: Any) -> dict[str, Any]:
    base = {
        "username": "u",
        "password": "the-password",
        "auth": 1,
        "status": "Active",
        "exp_date": "4102444800",
        "is_trial": "0",
        "active_cons": "1",
        "max_connections": "2",
        "allowed_output_formats": ["m3u8", "ts"],
    }
    return {"user_info": {**base, **user}, "server_info": {"timezone": "Europe/Paris"}}


def test_an_active_account() -> None:
    account = parsing.parse_account(_account())
    assert account.status == "Active" and account.expires_at == datetime(2100, 1, 1, tzinfo=UTC)
    assert (account.active_connections, account.max_connections) == (1, 2)
    assert account.allowed_formats == ("m3u8", "ts") and account.timezone == "Europe/Paris"
    assert "the-password" not in repr(account)


def test_an_account_without_expiry_date() -> None:
    assert parsing.parse_account(_account(exp_date=None)).expires_at is None


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"user_info": {"auth": 0}}, "refused the username or password"),
        ({"user_info": {"auth": "0", "message": "Wrong login"}}, "Wrong login"),
        (_account(status="Expired"), "this account is Expired"),
        (_account(status="Banned"), "this account is Banned"),
        (_account(exp_date="1500000000"), "expired on 2017-07-14"),
    ],
)
def test_an_unusable_account_says_why(answer: Any, message: str) -> None:
    with pytest.raises(ProviderAuthFailed, match=message):
        parsing.parse_account(answer)


@pytest.mark.parametrize("answer", [[], "", {"something": "else"}])
def test_an_answer_that_is_no_account_says_to_check_the_url(answer: Any) -> None:
    with pytest.raises(ProviderBadAnswer, match="check the URL"):
        parsing.parse_account(answer)
