"""What a subscription's check downloads of a listing, and when it looks again (pure)."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

import pytest

from haul.core.subscriptions import (
    Entry,
    Kept,
    Rules,
    check_backfill,
    check_interval,
    check_title_filter,
    feed_link,
    iptv_series,
    is_feed,
    kind_of,
    newest_first,
    next_check,
    plan,
    retry_after,
    to_prune,
)
from haul.errors import InvalidSubscription

DAY = datetime(2026, 1, 10, tzinfo=UTC)


def entries(*keys: str, dated: bool = False) -> list[Entry]:
    return [
        Entry(
            k,
            f"https://videos.example/{k}",
            title=f"Video {k}",
            published=DAY - timedelta(days=i) if dated else None,
        )
        for i, k in enumerate(keys)
    ]


def downloaded(keys: list[Entry] | None) -> list[str]:
    return [e.key for e in keys or []]


def test_backfill_none_only_remembers_what_exists_on_the_first_check() -> None:
    first = plan(entries("c", "b", "a"), set(), first=True, rules=Rules())
    assert first.downloads == []
    assert [(d.entry.key, d.skipped) for d in first.decisions] == [
        ("c", "backfill"),
        ("b", "backfill"),
        ("a", "backfill"),
    ]
    later = plan(entries("d", "c", "b", "a"), {"a", "b", "c"}, first=False, rules=Rules())
    assert downloaded(later.downloads) == ["d"]
    assert [d.entry.key for d in later.decisions] == ["d"]  # seen ones are not decided again


def test_backfill_all_and_a_number_of_newest() -> None:
    listing = entries("c", "b", "a")
    assert downloaded(plan(listing, set(), first=True, rules=Rules("all")).downloads) == [
        "c",
        "b",
        "a",
    ]
    two = plan(listing, set(), first=True, rules=Rules("2"))
    assert downloaded(two.downloads) == ["c", "b"]
    assert [d.skipped for d in two.decisions] == [None, None, "backfill"]


def test_newest_means_by_date_when_every_entry_has_one() -> None:
    listing = list(reversed(entries("new", "mid", "old", dated=True)))  # listed oldest first
    assert [e.key for e in newest_first(listing)] == ["new", "mid", "old"]
    one = plan(listing, set(), first=True, rules=Rules("1"))
    assert downloaded(one.downloads) == ["new"]
    undated = [*listing, Entry("x", "https://videos.example/x")]
    assert [e.key for e in newest_first(undated)] == ["old", "mid", "new", "x"]


def test_since_and_the_title_filter_skip_for_good() -> None:
    listing = entries("c", "b", "a", dated=True)
    listing[1] = Entry("b", listing[1].url, title="Trailer: b", published=listing[1].published)
    rules = Rules("all", since=DAY - timedelta(days=1), title_filter=r"^video ")
    decided = plan(listing, set(), first=True, rules=rules)
    assert [(d.entry.key, d.skipped) for d in decided.decisions] == [
        ("c", None),
        ("b", "filter"),
        ("a", "since"),
    ]


def test_max_per_check_leaves_the_rest_for_the_next_check() -> None:
    listing = entries("e", "d", "c", "b", "a")
    first = plan(listing, set(), first=True, rules=Rules("all", max_per_check=2))
    assert downloaded(first.downloads) == ["e", "d"]
    assert first.deferred == 3
    seen = {"e", "d"}
    second = plan(listing, seen, first=False, rules=Rules("all", max_per_check=2))
    assert downloaded(second.downloads) == ["c", "b"] and second.deferred == 1


def test_entries_without_a_link_or_refused_are_remembered_with_the_reason() -> None:
    listing = [
        Entry("x", None, title="no link"),
        Entry("y", "file:///etc/passwd", refused="haul downloads http, https and magnet links."),
        Entry("x", "https://videos.example/x"),  # the same key twice: the first counts
    ]
    decided = plan(listing, set(), first=False, rules=Rules())
    assert [(d.entry.key, d.skipped) for d in decided.decisions] == [
        ("x", "no_link"),
        ("y", "refused"),
    ]


@pytest.mark.parametrize(
    ("given", "stored"), [(None, "none"), ("ALL", "all"), (5, "5"), ("0", "none"), (" 12 ", "12")]
)
def test_backfill_values(given: str | int | None, stored: str) -> None:
    assert check_backfill(given) == stored


@pytest.mark.parametrize("given", ["some", "-1", "1.5", 10**9])
def test_bad_backfill_says_what_it_takes(given: str | int) -> None:
    with pytest.raises(InvalidSubscription) as caught:
        check_backfill(given)
    assert 'backfill is "none"' in caught.value.problems["backfill"]


def test_settings_are_checked_with_sentences() -> None:
    assert check_interval(None) == 60
    with pytest.raises(InvalidSubscription) as caught:
        check_interval(1)
    assert caught.value.problems["interval_minutes"].startswith("A subscription is checked every")
    with pytest.raises(InvalidSubscription) as caught:
        check_title_filter("(unclosed")
    assert "not a regular expression" in caught.value.problems["title_filter"]
    assert check_title_filter("  ") is None


def test_what_a_link_is() -> None:
    assert kind_of("https://www.youtube.com/@someone/videos") == "playlist"
    assert kind_of("https://podcast.example/show/feed.xml") == "feed"
    assert kind_of("https://blog.example/feed/") == "feed"
    assert kind_of("https://blog.example/page", "feed") == "feed"
    assert kind_of("iptv://panel/series/201") == "iptv_series"
    assert iptv_series("iptv://my%20panel/series/201") == ("my panel", 201)
    assert iptv_series("https://x.example/") is None
    with pytest.raises(InvalidSubscription):
        iptv_series("iptv://panel/movie/1")
    with pytest.raises(InvalidSubscription):
        kind_of("https://x.example/", "torrent")


def test_a_podcast_apps_feed_link_is_its_web_link() -> None:
    assert feed_link("feed://pods.example/show.xml") == "http://pods.example/show.xml"
    assert feed_link("FEED:https://pods.example/show") == "https://pods.example/show"
    assert feed_link("itpc://pods.example/rss") == "http://pods.example/rss"
    assert feed_link("pcast://pods.example/rss") == "http://pods.example/rss"
    assert feed_link("podcast://pods.example/rss") == "https://pods.example/rss"
    assert feed_link("https://pods.example/rss") is None
    assert feed_link("feed:nothing") is None
    assert feed_link("magnet:?xt=urn:btih:" + "a" * 40) is None


def test_a_feed_is_told_by_its_type_or_its_first_bytes() -> None:
    rss = b'<?xml version="1.0"?>\n<rss version="2.0"><channel>'
    atom = b'\xef\xbb\xbf <feed xmlns="http://www.w3.org/2005/Atom">'
    assert is_feed("application/rss+xml; charset=utf-8", b"")
    assert is_feed("text/xml", rss) and is_feed(None, atom) and is_feed("text/plain", rss)
    assert not is_feed("text/html", rss)
    assert is_feed("application/octet-stream", atom)  # a file server's "no idea"
    assert not is_feed("video/mp4", rss)
    assert not is_feed("application/xml", b"<?xml version='1.0'?><svg/>")


def test_the_next_check_spreads_and_failures_back_off() -> None:
    rng = random.Random(7)
    now = DAY
    for _ in range(50):
        at = next_check(now, 60, rng)
        assert timedelta(minutes=60) <= at - now <= timedelta(minutes=66)
    waits = [retry_after(n, 60, random.Random(1)) for n in range(1, 20)]
    assert timedelta(seconds=48) <= waits[0] <= timedelta(seconds=72)
    assert waits[3] > waits[1] > waits[0]  # longer and longer
    assert max(waits) <= timedelta(hours=4) * 1.2  # up to four intervals
    daily = retry_after(30, 7 * 24 * 60, random.Random(1))
    assert daily <= timedelta(hours=24) * 1.2  # never more than a day


def test_keep_last_lets_the_oldest_go() -> None:
    seen = DAY + timedelta(days=1)  # one check saw them all
    kept: list[Kept] = [
        (1, seen, DAY - timedelta(days=3)),
        (2, seen, DAY),
        (3, seen, DAY - timedelta(days=1)),
    ]
    assert to_prune(kept, 2) == [1]
    assert to_prune(kept, 5) == [] and to_prune(kept, None) == []


def test_keep_last_orders_undated_entries_by_when_they_were_seen() -> None:
    first, later = DAY, DAY + timedelta(days=2)
    kept: list[Kept] = [
        (1, first, None),  # undated, listed first at the first check: the newest of it
        (2, first, None),
        (3, first, DAY - timedelta(days=5)),  # dated, the same check: newer than undated
        (4, later, None),  # appeared at a later check: newer than all of the first
        (5, later, DAY - timedelta(days=30)),  # a late-listed old one is still newer
    ]
    assert to_prune(kept, 3) == [1, 2]
    assert to_prune(kept, 4) == [2]


def test_since_remembers_undated_entries_of_the_first_check() -> None:
    listing = [
        Entry("a", "https://videos.example/a", published=DAY),
        Entry("u", "https://videos.example/u"),  # a flat listing's entry: no date
        Entry("o", "https://videos.example/o", published=DAY - timedelta(days=9)),
    ]
    rules = Rules("all", since=DAY - timedelta(days=1))
    first = plan(listing, set(), first=True, rules=rules)
    assert [(d.entry.key, d.skipped) for d in first.decisions] == [
        ("a", None),
        ("u", "since_unknown"),
        ("o", "since"),
    ]
    later = [Entry("n", "https://videos.example/n"), *listing]
    second = plan(later, {"a", "u", "o"}, first=False, rules=rules)
    assert downloaded(second.downloads) == ["n"]  # undated but new since the first check


def test_a_catastrophic_title_filter_is_stopped_and_said_to_be_too_slow() -> None:
    slow = check_title_filter(r"(a|aa)+$")
    listing = [
        Entry(f"k{i}", f"https://videos.example/{i}", title="a" * 40 + "!" + "x" * 10_000)
        for i in range(200)
    ]
    listing.append(Entry("fine", "https://videos.example/fine", title="aaaa"))
    started = time.monotonic()
    decided = plan(listing, set(), first=False, rules=Rules(title_filter=slow))
    assert time.monotonic() - started < 3  # not 200 titles' worth of backtracking
    assert decided.slow_filter
    assert {d.skipped for d in decided.decisions if d.entry.key != "fine"} == {"filter"}
    quick = plan(listing, set(), first=False, rules=Rules(title_filter="^a+!"))
    assert not quick.slow_filter and len(quick.downloads) == 200
