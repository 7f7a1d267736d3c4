"""Speed limits as people write them, the token bucket that holds one, and the schedule."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from haul.core.bandwidth import (
    TokenBucket,
    in_force,
    parse_rate,
    parse_schedule,
    rate_text,
    schedule_text,
    tightest,
    window_at,
    zone,
)


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("2M", 2_000_000),
        ("500K", 500_000),
        ("1.5MB/s", 1_500_000),
        ("2 MiB/s", 2 * 1024 * 1024),
        ("512kib", 512 * 1024),
        ("1000", 1000),
        ("3 mbps", 3_000_000),
        (1_000_000, 1_000_000),
        (2.5e6, 2_500_000),
        ("0", None),
        (0, None),
        ("none", None),
        ("unlimited", None),
        (None, None),
    ],
)
def test_rates_as_people_write_them(text: object, rate: int | None) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["fast", "-1M", "2X", "1.5.2M", "i", True, [1], "5Pb", "inf"])
def test_a_rate_that_is_not_one_is_refused_with_a_sentence(text: object) -> None:
    with pytest.raises(ValueError, match=r"speed|limit"):
        parse_rate(text)


def test_a_rate_past_a_terabyte_per_second_or_under_a_kilobyte_is_refused() -> None:
    with pytest.raises(ValueError, match="at most"):
        parse_rate("2T")
    with pytest.raises(ValueError, match="at least 1 KB/s"):
        parse_rate("999")
    with pytest.raises(ValueError, match="at least 1 KB/s"):
        parse_rate(0.3)


def test_rate_text_and_tightest() -> None:
    assert rate_text(2_000_000) == "2.0 MB/s"
    assert rate_text(None) == "no limit"
    assert tightest(None, 3, 2) == 2
    assert tightest(None, None) is None


def test_the_bucket_holds_its_rate_over_many_pieces() -> None:
    bucket = TokenBucket(1_000_000, now=0.0)
    now, taken = 0.0, 0
    while now < 10.0:
        now += bucket.take(65536, now)
        taken += 65536
    assert taken / now == pytest.approx(1_000_000, rel=0.03)


def test_a_piece_larger_than_the_burst_is_paid_back_by_waiting() -> None:
    bucket = TokenBucket(100_000, now=0.0)  # a new bucket starts empty: no first burst
    assert bucket.take(1_000_000, 0.0) == pytest.approx(10)
    assert bucket.wait(5.0) == pytest.approx(5)


def test_a_changed_rate_applies_from_now() -> None:
    bucket = TokenBucket(100_000, now=0.0)
    bucket.take(1_000_000, 0.0)  # 1 MB in debt
    bucket.set_rate(1_000_000, 0.0)
    assert bucket.wait(0.0) == pytest.approx(1.0)
    bucket.set_rate(None, 0.5)
    assert bucket.take(10**9, 0.5) == 0.0


def test_a_quiet_bucket_lets_only_its_burst_through() -> None:
    bucket = TokenBucket(1_000_000, now=0.0)
    assert bucket.take(250_000, 100.0) == 0.0
    assert bucket.take(100_000, 100.0) == pytest.approx(0.1)


BERLIN = ZoneInfo("Europe/Berlin")


def moment(text: str, tz: ZoneInfo = BERLIN) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=tz)


WORKDAYS = [
    {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "09:00", "to": "17:00", "limit": "2M"}
]


def test_a_limit_window_is_in_force_during_its_hours_until_its_end() -> None:
    windows = parse_schedule(WORKDAYS)
    now = in_force(windows, moment("2026-12-07T10:00"), BERLIN)  # a Monday
    assert now.window is not None and now.limit(None) == 2_000_000
    assert now.until == moment("2026-12-07T17:00")
    later = in_force(windows, moment("2026-12-07T17:00"), BERLIN)
    assert later.window is None and later.limit(5) == 5
    assert later.until == moment("2026-12-08T09:00")


def test_the_weekend_is_free_until_monday_morning() -> None:
    windows = parse_schedule(WORKDAYS)
    friday_night = in_force(windows, moment("2026-12-11T18:00"), BERLIN)
    assert friday_night.window is None
    assert friday_night.until == moment("2026-12-14T09:00")


def test_a_window_across_midnight_runs_into_the_next_day() -> None:
    windows = parse_schedule([{"days": ["fri"], "from": "22:00", "to": "06:00", "pause": True}])
    assert window_at(windows, moment("2026-12-11T23:30"), BERLIN) is not None  # Friday
    assert window_at(windows, moment("2026-12-12T05:59"), BERLIN) is not None  # Saturday
    assert window_at(windows, moment("2026-12-12T06:00"), BERLIN) is None
    assert window_at(windows, moment("2026-12-12T23:00"), BERLIN) is None  # Saturday night
    now = in_force(windows, moment("2026-12-11T23:30"), BERLIN)
    assert now.pause and now.until == moment("2026-12-12T06:00")


def test_the_first_window_listed_wins_and_equal_neighbours_are_one_stretch() -> None:
    windows = parse_schedule(
        [
            {"days": ["mon"], "from": "09:00", "to": "12:00", "pause": True},
            {"days": ["mon"], "from": "08:00", "to": "10:00", "limit": "1M"},
            {"days": ["mon"], "from": "12:00", "to": "13:00", "pause": True},
        ]
    )
    at_nine = in_force(windows, moment("2026-12-07T09:30"), BERLIN)
    assert at_nine.pause and at_nine.until == moment("2026-12-07T13:00")


def test_windows_keep_their_wall_clock_hours_across_daylight_saving_time() -> None:
    windows = parse_schedule([{"days": ["sun"], "from": "01:00", "to": "04:00", "limit": "1M"}])
    # Berlin moves its clocks from 02:00 to 03:00 on Sunday 2027-03-28: the window is 2 hours.
    start = moment("2027-03-28T01:00")
    now = in_force(windows, start, BERLIN)
    assert now.until is not None and (now.until - start).total_seconds() == 2 * 3600
    # and back from 03:00 to 02:00 on Sunday 2027-10-31: the window is 4 hours.
    start = moment("2027-10-31T01:00")
    now = in_force(windows, start, BERLIN)
    assert now.until is not None and (now.until - start).total_seconds() == 4 * 3600


def test_a_window_starting_in_the_skipped_hour_starts_when_the_clocks_jump() -> None:
    windows = parse_schedule([{"days": ["sun"], "from": "02:30", "to": "05:00", "pause": True}])
    before = in_force(windows, moment("2027-03-28T01:00"), BERLIN)
    assert before.window is None
    assert before.until == datetime(2027, 3, 28, 1, 0, tzinfo=UTC)  # 02:00 CET = 03:00 CEST


def test_the_same_window_in_another_time_zone_is_another_moment() -> None:
    windows = parse_schedule(WORKDAYS)
    at = datetime(2026, 12, 7, 8, 30, tzinfo=UTC)  # 09:30 in Berlin, 03:30 in New York
    assert window_at(windows, at, BERLIN) is not None
    assert window_at(windows, at, zone("America/New_York")) is None


def test_no_schedule_never_changes() -> None:
    now = in_force((), moment("2026-12-07T10:00"), BERLIN)
    assert now.window is None and now.until is None


@pytest.mark.parametrize(
    ("schedule", "words"),
    [
        ({"days": ["mon"]}, "list of windows"),
        ([{"days": ["moonday"], "from": "09:00", "to": "10:00", "pause": True}], "weekday"),
        ([{"from": "9", "to": "10:00", "pause": True}], "time of day"),
        ([{"from": "09:00", "to": "25:00", "pause": True}], "time of day"),
        ([{"from": "09:00", "to": "10:00"}], "needs a"),
        ([{"from": "09:00", "to": "10:00", "limit": "fast"}], "not a speed"),
        ([{"from": "09:00", "to": "10:00", "pause": True, "limit": "1M"}], "not both"),
        ([{"from": "09:00", "to": "10:00", "pause": True, "speed": 1}], "unknown field"),
        ("[{", "list of windows"),
    ],
)
def test_a_bad_schedule_is_refused_naming_the_window(schedule: object, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_schedule(schedule)


def test_a_schedule_reads_back_as_it_was_written() -> None:
    windows = parse_schedule([*WORKDAYS, {"from": "23:00", "to": "24:00", "pause": True}])
    again = parse_schedule([w.as_json() for w in windows])
    assert again == windows
    assert windows[1].days == frozenset(range(7))


def test_a_schedule_is_written_as_text_one_window_a_line() -> None:
    written = (
        "mon-fri 09:00-17:00 pause; Sat,Sunday 00:00-08:00 10M\n"
        "fri-mon 22:00-06:00 limited to 1.5M\n23:00-24:00 none\nweekdays 12:00-13:00: 500K"
    )
    windows = parse_schedule(written)
    assert [(sorted(w.days), w.start, w.end, w.limit, w.pause) for w in windows] == [
        ([0, 1, 2, 3, 4], 540, 1020, None, True),
        ([5, 6], 0, 480, 10_000_000, False),
        ([0, 4, 5, 6], 1320, 360, 1_500_000, False),
        (list(range(7)), 1380, 1440, None, False),
        ([0, 1, 2, 3, 4], 720, 780, 500_000, False),
    ]
    assert schedule_text(windows) == (
        "mon-fri 09:00-17:00 pause\nsat,sun 00:00-08:00 10M\nfri-mon 22:00-06:00 1.5M\n"
        "daily 23:00-24:00 none\nmon-fri 12:00-13:00 500K"
    )
    assert parse_schedule(schedule_text(windows)) == windows
    assert [w.describe() for w in windows[2:4]] == [
        "fri-mon 22:00-06:00: limited to 1.5 MB/s",
        "daily 23:00-24:00: no limit",
    ]


@pytest.mark.parametrize(
    ("written", "words"),
    [
        ("mon-fri 9-17 pause", "line 1 .* one window a line"),
        ("mon 09:00-10:00 pause; someday 09:00-10:00 pause", "line 2 .* not a weekday"),
        ("mon 09:00-10:00 fast", "not a speed"),
        ("mon 09:70-10:00 pause", "time of day"),
    ],
)
def test_a_bad_line_of_the_schedule_is_refused_naming_it(written: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_schedule(written)


def test_an_unknown_time_zone_is_refused_with_a_sentence() -> None:
    with pytest.raises(ValueError, match="IANA"):
        zone("Mars/Olympus")
