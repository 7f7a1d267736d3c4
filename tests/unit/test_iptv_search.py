"""Searching a catalogue, and the per-provider cache that keeps it."""

from __future__ import annotations

import asyncio

import pytest

from haul.iptv.cache import CatalogueCache
from haul.iptv.search import SearchIndex, fold

NAMES = [
    "The Matrix (1999)",
    "Amélie (2001)",
    "Spider-Man: Into the Spider-Verse",
    "Le Fabuleux Destin d'Amélie Poulain",
    "Planète Océan",
    "STRAẞE",
]


def index() -> SearchIndex[str]:
    return SearchIndex(NAMES, lambda n: n, lambda n: ["odd"] if NAMES.index(n) % 2 else ["even"])


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Amélie-Poulain!", "amelie poulain"),
        ("  PLANÈTE   Océan ", "planete ocean"),
        ("Straße", "strasse"),
        ("Ærø", "aero"),
        ("\uff26\uff35\uff2c\uff2c width", "full width"),  # full-width letters
        ("", ""),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("amelie", ["Amélie (2001)", "Le Fabuleux Destin d'Amélie Poulain"]),
        ("AMÉLIE poulain", ["Le Fabuleux Destin d'Amélie Poulain"]),
        ("spider verse", ["Spider-Man: Into the Spider-Verse"]),
        ("matrix 1999", ["The Matrix (1999)"]),
        ("ocean", ["Planète Océan"]),
        ("strasse", ["STRAẞE"]),
        ("nothing like it", []),
        ("", NAMES),
        (None, NAMES),
    ],
)
def test_search_is_case_and_accent_blind_and_word_by_word(
    query: str | None, found: list[str]
) -> None:
    assert index().search(query) == found


def test_names_that_start_with_the_query_come_first() -> None:
    found = SearchIndex(["Big Fish", "Fish Tank", "A Fish Called Wanda"], str, lambda _: []).search(
        "fish"
    )
    assert found == ["Fish Tank", "Big Fish", "A Fish Called Wanda"]


def test_category_filter_and_pages() -> None:
    idx = index()
    assert idx.search(category="odd") == [NAMES[1], NAMES[3], NAMES[5]]
    assert idx.search("amelie", category="even") == []
    page = idx.page(None, "odd", limit=2, offset=2)
    assert (page.items, page.total, page.limit, page.offset) == ([NAMES[5]], 3, 2, 2)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_the_cache_fetches_once_per_ttl() -> None:
    clock = Clock()
    cache = CatalogueCache(ttl=60, clock=clock)
    calls = 0

    async def load() -> list[int]:
        nonlocal calls
        calls += 1
        return [calls]

    assert await cache.get(1, "vod", load) == [1]
    assert await cache.get(1, "vod", load) == [1]
    clock.now += 59
    assert await cache.get(1, "vod", load) == [1]
    clock.now += 2
    assert await cache.get(1, "vod", load) == [2]
    assert await cache.get(1, "vod", load, refresh=True) == [3]
    assert await cache.get(2, "vod", load) == [4]  # another provider: its own entry
    cache.invalidate(1)
    assert await cache.get(1, "vod", load) == [5]
    assert await cache.get(2, "vod", load) == [4]


async def test_concurrent_askers_share_one_fetch() -> None:
    cache = CatalogueCache(ttl=60)
    release = asyncio.Event()
    calls = 0

    async def load() -> str:
        nonlocal calls
        calls += 1
        await release.wait()
        return "catalogue"

    waiting = [asyncio.create_task(cache.get(1, "vod", load)) for _ in range(5)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*waiting) == ["catalogue"] * 5
    assert calls == 1


async def test_a_failed_fetch_is_not_cached() -> None:
    cache = CatalogueCache(ttl=60)
    answers: list[BaseException | str] = [RuntimeError("down"), "up"]

    async def load() -> str:
        answer = answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    with pytest.raises(RuntimeError):
        await cache.get(1, "vod", load)
    assert await cache.get(1, "vod", load) == "up"


async def test_a_change_during_a_fetch_drops_what_it_brings() -> None:
    cache = CatalogueCache(ttl=60)
    started, release = asyncio.Event(), asyncio.Event()
    calls = 0

    async def load() -> int:
        nonlocal calls
        calls += 1
        started.set()
        await release.wait()
        return calls

    first = asyncio.create_task(cache.get(1, "vod", load))
    await started.wait()
    cache.invalidate(1)  # the provider's password changed meanwhile
    release.set()
    assert await first == 1
    assert await cache.get(1, "vod", load) == 2
