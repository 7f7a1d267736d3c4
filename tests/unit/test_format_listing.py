"""Listing a page's formats (the service's own logic, over a scripted lister): limits per
owner, answers kept, yt-dlp's errors said as 4xx; and a download's own choice over its profile."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from haul.core.formats import MediaFormat, PageFormats
from haul.core.profiles import check_choice
from haul.engine.base import Profile
from haul.errors import (
    AddressRefused,
    ForbiddenAddress,
    FormatsUnavailable,
    InvalidChoice,
    InvalidURL,
    TooManyListings,
    UnsupportedSource,
)
from haul.service.formats import FormatService
from haul.service.values import Owner
from tests.support.wait import await_for

ALICE = Owner(key="user:1")
BOB = Owner(key="user:2")


class Lister:
    """Answers at once, or (``hold``) when released; raises ``error`` if set."""

    def __init__(self, *, hold: bool = False, error: Exception | None = None) -> None:
        self.calls: list[str] = []
        self.release = threading.Event()
        if not hold:
            self.release.set()
        self.error = error

    def __call__(self, url: str, *, timeout: float, cookies: Any) -> PageFormats:
        self.calls.append(url)
        self.release.wait(10)
        if self.error is not None:
            raise self.error
        return PageFormats(url, "A page", 10.0, "Generic", (MediaFormat("18", "mp4"),))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def service(lister: Lister, clock: Clock | None = None, **kw: Any) -> FormatService:
    return FormatService(
        addresses=None, allow_private=True, lister=lister, clock=clock or Clock(), **kw
    )


async def test_an_answer_is_kept_per_owner_and_url_for_a_while() -> None:
    lister, clock = Lister(), Clock()
    formats = service(lister, clock, keep=60)
    first = await formats.formats("http://example.com/v", ALICE)
    assert await formats.formats("http://example.com/v", ALICE) is first
    await formats.formats("http://example.com/v", BOB)  # not Alice's answer
    clock.now += 61
    await formats.formats("http://example.com/v", ALICE)
    assert lister.calls == ["http://example.com/v"] * 3


async def test_over_the_rate_per_minute_a_listing_is_refused_until_the_minute_passes() -> None:
    lister, clock = Lister(), Clock()
    formats = service(lister, clock, per_minute=2)
    await formats.formats("http://example.com/1", ALICE)
    await formats.formats("http://example.com/2", ALICE)
    with pytest.raises(TooManyListings, match="2 times in the last minute") as refused:
        await formats.formats("http://example.com/3", ALICE)
    assert refused.value.retry_after == pytest.approx(60)
    await formats.formats("http://example.com/3", BOB)  # Bob has his own minute
    clock.now += 60
    await formats.formats("http://example.com/3", ALICE)


async def test_visitors_of_one_address_share_their_limits() -> None:
    formats = service(Lister(), per_minute=1)
    first = Owner(key="session:aaaa", ip="203.0.113.7", is_admin=False)
    second = Owner(key="session:bbbb", ip="203.0.113.7", is_admin=False)
    await formats.formats("http://example.com/1", first)
    with pytest.raises(TooManyListings):
        await formats.formats("http://example.com/2", second)
    await formats.formats("http://example.com/2", Owner(key="session:cccc", ip="198.51.100.1"))


async def test_only_a_few_listings_of_one_owner_run_at_once() -> None:
    lister = Lister(hold=True)
    formats = service(lister, at_once=2)
    running = [
        asyncio.ensure_future(formats.formats(f"http://example.com/{n}", ALICE)) for n in (1, 2)
    ]
    await await_for(lambda: len(lister.calls) == 2, 5, what="both listings to start")
    with pytest.raises(TooManyListings, match="2 pages already"):
        await formats.formats("http://example.com/3", ALICE)
    lister.release.set()
    await asyncio.gather(*running)
    await formats.formats("http://example.com/3", ALICE)


async def test_a_slow_page_is_answered_with_a_sentence_and_holds_its_slot_until_it_ends() -> None:
    lister = Lister(hold=True)
    formats = service(lister, at_once=1, timeout=0.2)
    with pytest.raises(FormatsUnavailable, match=r"example\.com did not give its formats within"):
        await formats.formats("http://example.com/slow", ALICE)
    with pytest.raises(TooManyListings):
        await formats.formats("http://example.com/other", ALICE)
    lister.release.set()
    await await_for(
        lambda: not formats._at_once.running(ALICE.key), 5, what="the slow listing to end"
    )
    await formats.formats("http://example.com/other", ALICE)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (
            UnsupportedSource("haul found no video or audio it can download at x."),
            FormatsUnavailable,
        ),
        (AddressRefused("10.0.0.1 is a private address.", address="10.0.0.1"), ForbiddenAddress),
    ],
)
async def test_ytdlps_errors_are_said_as_bad_input(error: Exception, kind: type[Exception]) -> None:
    formats = service(Lister(error=error))
    with pytest.raises(kind) as raised:
        await formats.formats("http://example.com/v", ALICE)
    assert str(raised.value) == str(error)


@pytest.mark.parametrize("url", ["ftp://example.com/a", "not a url", "http://169.254.169.254/"])
async def test_what_haul_would_not_download_is_refused_before_any_listing(url: str) -> None:
    lister = Lister()
    with pytest.raises((InvalidURL, ForbiddenAddress)):
        await service(lister).formats(url, ALICE)
    assert lister.calls == []


def test_a_choice_is_checked_by_the_profiles_rules() -> None:
    assert check_choice(" 18 ", "MP3", "192k") == ("18", "mp3", "192K")
    assert check_choice("", None, None) == (None, None, None)
    with pytest.raises(InvalidChoice) as refused:
        check_choice("a\x00b", "mp5", None)
    assert set(refused.value.problems) == {"format", "audio_format"}
    with pytest.raises(InvalidChoice) as refused:
        check_choice(None, "wav", "320K")
    assert "wav is lossless" in refused.value.problems["audio_quality"]


def test_a_downloads_choice_overrides_its_profile_only_where_it_chose() -> None:
    video = Profile(name="hd", format="bv*+ba/b", container="mkv")
    assert video.chosen() is video
    assert video.chosen("18").format == "18" and video.chosen("18").container == "mkv"
    audio = video.chosen(audio_format="mp3")
    assert (audio.format, audio.audio_format, audio.audio_quality) == ("bv*+ba/b", "mp3", None)
    assert audio.post_processed
    tunes = Profile(name="tunes", audio_format="opus", audio_quality="3")
    assert tunes.chosen(audio_format="mp3").audio_quality == "3"
    assert tunes.chosen(audio_format="mp3", audio_quality="128K").audio_quality == "128K"
