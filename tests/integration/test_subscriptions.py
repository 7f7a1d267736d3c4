"""Subscriptions through the API, with real yt-dlp on a local channel page, a podcast feed
and the suite's Xtream panel, on SQLite and PostgreSQL: what is new is downloaded once, what
existed is remembered, a huge channel costs one check, and checkers that race or die never
make an entry a second download."""

from __future__ import annotations

import asyncio
import html
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from haul.settings import Settings
from haul.store.database import Database
from haul.store.models import Download, MediaItem
from haul.store.sql_subscriptions import SqlSubscriptionStore
from haul.store.subscriptions import Due
from haul.worker.listings import Listings
from haul.worker.subscriptions import Checker, CheckerConfig, Listing, Outcome
from tests.conftest import App
from tests.integration.test_api_downloads import finished
from tests.integration.test_iptv_downloads import add_provider
from tests.support import media
from tests.support.fixtures import MediaFiles
from tests.support.origin import Origin
from tests.support.wait import await_for
from tests.support.webhooks import WebhookReceiver
from tests.support.xtream import XtreamServer, _Episode


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No periodic checks: each test checks when it says so (the checks it counts are its own)."""
    return settings.model_copy(update={"subscription_poll_interval": 0.0})


class Channel:
    """A channel page on the origin: a ``<video>`` per clip, clips added at its end."""

    def __init__(
        self, origin: Origin, clip: Path, path: str = "/channel", *, newest_first: bool = False
    ) -> None:
        self.origin = origin
        self.clip = clip
        self.path = path
        self.newest_first = newest_first
        self.count = 0

    @property
    def url(self) -> str:
        return self.origin.url(self.path)

    def show(self, count: int) -> None:
        for n in range(self.count + 1, count + 1):
            self.origin.add_file(f"{self.path}/v{n}.mp4", self.clip, content_type="video/mp4")
        self.count = count
        urls = [self.origin.url(f"{self.path}/v{n}.mp4") for n in range(1, count + 1)]
        if self.newest_first:
            urls.reverse()
        self.origin.add_page(self.path, media.page_with_videos(urls))

    def fetched(self) -> list[str]:
        """The clips downloaded so far (any request for one)."""
        prefix = f"{self.path}/v"
        return sorted({r.path for r in self.origin.requests if r.path.startswith(prefix)})


@pytest.fixture
def channel(origin: Origin, media_files: MediaFiles) -> Channel:
    return Channel(origin, media_files.mp4)


async def subscribe(app: App, **body: Any) -> dict[str, Any]:
    made = await app.post("/subscriptions", json=body)
    assert made.status_code == 201, made.text
    answer: dict[str, Any] = made.json()
    return answer


async def check(app: App, subscription_id: int) -> dict[str, Any]:
    done = await app.post(f"/subscriptions/{subscription_id}/check")
    assert done.status_code == 200, done.text
    answer: dict[str, Any] = done.json()
    assert answer["checked"] is True and answer["error"] is None, answer
    return answer


async def all_finished(app: App, ids: list[int]) -> None:
    for download_id in ids:
        done = await finished(app, download_id, timeout=90)
        assert done["status"] == "completed", done


async def download_count(app: App) -> int:
    async with app.runtime.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(Download)) or 0)


async def test_backfill_all_downloads_each_video_once_then_only_what_is_new(
    app: App, channel: Channel
) -> None:
    channel.show(2)
    made = await subscribe(app, url=channel.url, backfill="all")
    assert made["kind"] == "playlist" and made["backfill"] == "all"
    assert made["next_check_at"] is not None
    assert made["last_checked_at"] is None and made["last_error"] is None

    first = await check(app, made["id"])
    assert len(first["downloads"]) == 2 and first["remembered"] == 0
    await all_finished(app, first["downloads"])
    channel.show(3)
    second = await check(app, made["id"])
    assert len(second["downloads"]) == 1
    await all_finished(app, second["downloads"])
    third = await check(app, made["id"])
    assert third["downloads"] == []

    assert await download_count(app) == 3
    assert channel.fetched() == [f"/channel/v{n}.mp4" for n in (1, 2, 3)]
    shown = (await app.get(f"/subscriptions/{made['id']}")).json()
    assert shown["title"] == "A haul channel" and shown["kind"] == "playlist"
    assert (shown["entries"], shown["downloads"], shown["failures"]) == (3, 3, 0)
    assert shown["last_checked_at"] is not None and shown["checking"] is False
    entries = (await app.get(f"/subscriptions/{made['id']}/entries")).json()["items"]
    assert sorted(e["download_id"] for e in entries) == sorted(
        first["downloads"] + second["downloads"]
    )
    assert {e["download_status"] for e in entries} == {"completed"}
    assert entries[0]["download_id"] == second["downloads"][0]  # newest first


async def test_a_page_that_lists_its_newest_video_first_gets_each_new_one_once(
    app: App, origin: Origin, media_files: MediaFiles
) -> None:
    """yt-dlp names a plain page's videos by their place (page-1, page-2): a video added at
    the top must not be taken for the one that was first, from one video to several too."""
    channel = Channel(origin, media_files.mp4, "/newest", newest_first=True)
    channel.show(1)
    made = await subscribe(app, url=channel.url, backfill="all")
    first = await check(app, made["id"])
    assert len(first["downloads"]) == 1
    await all_finished(app, first["downloads"])
    channel.show(3)  # v3, v2, v1
    second = await check(app, made["id"])
    assert len(second["downloads"]) == 2
    await all_finished(app, second["downloads"])
    assert (await check(app, made["id"]))["downloads"] == []
    assert await download_count(app) == 3
    assert channel.fetched() == [f"/newest/v{n}.mp4" for n in (1, 2, 3)]
    served = [r.path for r in origin.requests if r.path.startswith("/newest/v")]
    assert len([p for p in served if p == "/newest/v1.mp4"]) == served.count("/newest/v2.mp4")


async def test_backfill_none_fetches_nothing_until_a_new_entry_appears(
    app: App, channel: Channel
) -> None:
    channel.show(2)
    made = await subscribe(app, url=channel.url)
    assert made["backfill"] == "none"
    first = await check(app, made["id"])
    assert first["downloads"] == [] and first["remembered"] == 2
    assert (await check(app, made["id"]))["downloads"] == []
    assert await download_count(app) == 0 and channel.fetched() == []
    entries = (await app.get(f"/subscriptions/{made['id']}/entries")).json()["items"]
    assert [(e["download_id"], e["skipped"]) for e in entries] == [(None, "backfill")] * 2

    channel.show(3)
    third = await check(app, made["id"])
    assert len(third["downloads"]) == 1
    await all_finished(app, third["downloads"])
    assert channel.fetched() == ["/channel/v3.mp4"]


def podcast(
    origin: Origin,
    episodes: int,
    path: str = "/show",
    content_type: str = "application/rss+xml",
) -> None:
    """A podcast's RSS feed at ``path`` (its address does not say it is a feed), newest first,
    an enclosure per episode."""
    items = []
    for n in range(episodes, 0, -1):
        origin.add_file(f"/episodes/{n}.mp3", bytes([n]) * 20_000, content_type="audio/mpeg")
        items.append(
            f"<item><title>Episode {n}</title><guid>show-episode-{n}</guid>"
            f"<pubDate>Mon, 0{n} Jan 2024 10:00:00 GMT</pubDate>"
            f'<enclosure url="{html.escape(origin.url(f"/episodes/{n}.mp3"))}" '
            'length="20000" type="audio/mpeg"/></item>'
        )
    feed = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        "<title>The haul podcast</title><link>https://podcast.example/</link>"
        + "".join(items)
        + "</channel></rss>"
    )
    origin.add_file(path, feed.encode(), content_type=content_type)


async def test_a_feed_downloads_its_enclosures_two_then_the_third(app: App, origin: Origin) -> None:
    podcast(origin, 2)
    made = await subscribe(app, url=origin.url("/show"), backfill="all")
    first = await check(app, made["id"])
    assert len(first["downloads"]) == 2
    assert first["subscription"]["kind"] == "feed"
    assert first["subscription"]["title"] == "The haul podcast"
    await all_finished(app, first["downloads"])
    podcast(origin, 3)
    second = await check(app, made["id"])
    assert len(second["downloads"]) == 1
    [done] = [await finished(app, i) for i in second["downloads"]]
    assert done["title"] == "Episode 3" and done["url"] == origin.url("/episodes/3.mp3")
    path = app.runtime.settings.downloads_root / done["files"][0]["path"]
    assert path.read_bytes() == bytes([3]) * 20_000  # the enclosure itself, fetched directly
    assert path.name == "Episode 3.mp3"  # named after the episode, not its address (3.mp3)
    assert (await check(app, made["id"]))["downloads"] == []
    assert await download_count(app) == 3


async def test_a_podcast_apps_feed_link_subscribes_to_its_feed(app: App, origin: Origin) -> None:
    podcast(origin, 1, "/pods/show")  # no sign of a feed in its address
    web = origin.url("/pods/show")
    made = await subscribe(app, url=web.replace("http://", "feed://", 1), backfill="all")
    assert (made["url"], made["kind"]) == (web, "feed")
    assert len((await check(app, made["id"]))["downloads"]) == 1
    other = origin.url("/pods/other")
    also = await subscribe(app, url="feed:" + other, paused=True)
    assert (also["url"], also["kind"]) == (other, "feed")
    again = await app.post("/subscriptions", json={"url": "itpc" + web[4:]})
    assert again.status_code == 409 and "subscribed to this already" in again.text


async def test_a_feed_its_server_gives_no_type_is_found_by_its_first_bytes(
    app: App, origin: Origin
) -> None:
    podcast(origin, 1, content_type="application/octet-stream")  # a file server's "no idea"
    made = await subscribe(app, url=origin.url("/show"), backfill="all")
    first = await check(app, made["id"])
    assert first["error"] is None and first["subscription"]["kind"] == "feed", first
    assert len(first["downloads"]) == 1


async def test_a_big_file_subscribed_to_is_not_read_as_a_feed(app: App, origin: Origin) -> None:
    origin.add_file("/big.mp4", bytes(21 << 20), content_type="video/mp4")
    made = await subscribe(app, url=origin.url("/big.mp4"))
    first = await check(app, made["id"])
    assert first["error"] is None, first  # not "the feed is larger than 20 MB"
    assert sum(r.bytes_sent for r in origin.requests if r.path == "/big.mp4") < 1 << 20


async def test_check_now_is_one_at_a_time_per_subscription_and_a_few_per_owner(
    app: App, origin: Origin
) -> None:
    made = []
    for n in (1, 2, 3):
        path = f"/slow/{n}"
        podcast(origin, 1, path)
        origin.fault(path, "slow_headers", delay=4)
        made.append((await subscribe(app, url=origin.url(path), kind="feed"))["id"])
    assert app.runtime.settings.formats_at_once == 2
    first, second, third = made
    running = [asyncio.create_task(app.post(f"/subscriptions/{i}/check")) for i in (first, second)]
    await await_for(
        lambda: {r.path for r in origin.requests} >= {"/slow/1", "/slow/2"},
        what="both checks listing",
    )
    again = await app.post(f"/subscriptions/{first}/check")
    assert again.status_code == 429, again.text
    assert "being checked now already" in again.json()["detail"]
    over = await app.post(f"/subscriptions/{third}/check")
    assert over.status_code == 429, over.text
    assert "checking 2 subscriptions now already" in over.json()["detail"]
    assert over.headers["retry-after"]
    for done in await asyncio.gather(*running):
        assert done.status_code == 200 and done.json()["checked"] is True, done.text
    assert (await app.post(f"/subscriptions/{third}/check")).status_code == 200


async def test_a_channel_of_5000_entries_with_backfill_none_costs_one_check(
    app: App, origin: Origin, media_files: MediaFiles
) -> None:
    origin.add_file("/big/v.mp4", media_files.mp4, content_type="video/mp4")
    urls = [origin.url(f"/big/v.mp4?n={n}") for n in range(5000)]  # one file, 5000 links
    origin.add_page("/big", media.page_with_videos(urls, "A big channel"))
    made = await subscribe(app, url=origin.url("/big"))
    first = await check(app, made["id"])
    assert first["downloads"] == [] and first["remembered"] == 5000
    assert await download_count(app) == 0
    assert origin.requests_for("/big/v.mp4") == []
    assert len(origin.requests_for("/big")) <= 2  # is it a feed? then yt-dlp's listing
    shown = (await app.get(f"/subscriptions/{made['id']}")).json()
    assert (shown["entries"], shown["downloads"]) == (5000, 0)
    page = await app.http.get(f"/subscriptions/{made['id']}", headers={"Accept": "text/html"})
    assert "The newest 200 of 5000 entries" in page.text
    origin.add_page("/big", media.page_with_videos([*urls, origin.url("/big/v.mp4?n=new")]))
    second = await check(app, made["id"])
    assert len(second["downloads"]) == 1 and second["remembered"] == 0


class Partitioned(SqlSubscriptionStore):
    """A worker cut off from the database while it lists: its lease renewals never arrive."""

    async def renew(self, subscription_id: int, worker_id: str, until: datetime) -> bool:
        return True


async def test_two_checkers_at_once_make_each_entry_one_download(
    app: App, channel: Channel, database_url: str
) -> None:
    """Checker A lists, then stalls past its lease; checker B (another process's, with its
    own connections) takes the subscription over and checks it whole; then A records what it
    found. The database's unique key decides: A makes nothing."""
    channel.show(3)
    made = await subscribe(app, url=channel.url, backfill="all")
    other = Database(app.runtime.db.url)
    listings = Listings(app.runtime.http, None)
    listed = asyncio.Event()
    go_on = asyncio.Event()

    async def stalling(sub: Due) -> Listing:
        found = await listings(sub)
        listed.set()
        await go_on.wait()
        return found

    short = CheckerConfig(jitter=0, lease=timedelta(seconds=1))
    a = Checker(Partitioned(app.runtime.db), stalling, worker_id="a", config=short)
    b = Checker(SqlSubscriptionStore(other), listings, worker_id="b", config=short)
    try:
        first = asyncio.create_task(a.check_now(made["id"]))
        await asyncio.wait_for(listed.wait(), 60)

        # B takes it over once A's lease ran out.
        async def take_over() -> Outcome | None:
            return await b.check_now(made["id"])

        b_done: Outcome | None = await await_for(take_over, 30, what="B to take over")
        assert b_done is not None and len(b_done.downloads) == 3
        go_on.set()
        a_done = await first
        assert a_done is not None and a_done.downloads == [] and a_done.error is None
    finally:
        go_on.set()
        await other.dispose()
    assert await download_count(app) == 3
    again = await check(app, made["id"])
    assert again["downloads"] == []


async def test_a_new_episode_on_the_panel_is_filed_into_the_library(
    app: App, xtream: XtreamServer
) -> None:
    pid = await add_provider(app, xtream)
    made = await subscribe(app, url=f"iptv://{pid}/series/201")
    assert made["kind"] == "iptv_series" and made["url"] == f"iptv://{pid}/series/201"
    first = await check(app, made["id"])
    assert first["downloads"] == [] and first["remembered"] == 3
    assert first["subscription"]["title"] == "Dark (2017)"

    xtream.episodes[201].append(_Episode(2012, 2, 2, "Dark - S02E02 - Lies Again", "mkv", 60))
    xtream.state.extensions[("episode", 2012)] = "mkv"
    second = await check(app, made["id"])
    [download_id] = second["downloads"]
    done = await finished(app, download_id, timeout=90)
    assert done["status"] == "completed", done
    assert done["title"] == "Dark (2017) S02E02"
    async with app.runtime.db.read() as s:
        episode = await s.get(MediaItem, done["media_id"])
        assert episode is not None
        assert (episode.kind, episode.season, episode.episode) == ("episode", 2, 2)
        parent = await s.get(MediaItem, episode.parent_id)
        assert parent is not None and parent.kind == "series"
    filed = list(app.runtime.settings.library_root.rglob("*S02E02*"))
    assert [f.suffix for f in filed if f.suffix == ".mkv"] == [".mkv"], filed
    assert (await check(app, made["id"]))["downloads"] == []


async def test_bad_subscriptions_are_refused_with_a_sentence(app: App, channel: Channel) -> None:
    cases = [
        ({"url": "magnet:?xt=urn:btih:" + "a" * 40}, 422, "not to a torrent"),
        ({"url": "ftp://example.org/x"}, 422, "haul downloads http, https"),
        ({"url": channel.url, "backfill": "some"}, 422, 'backfill is "none"'),
        ({"url": channel.url, "interval_minutes": 1}, 422, "every 5 to 10080 minutes"),
        ({"url": channel.url, "title_filter": "(open"}, 422, "not a regular expression"),
        ({"url": channel.url, "profile": "nope"}, 422, "There is no profile named 'nope'"),
        ({"url": channel.url, "max_per_check": 0}, 422, "max_per_check is a number from 1"),
        ({"url": channel.url, "since": "yesterday"}, 422, "since: a date like 2024-01-31"),
        ({"url": "iptv://nobody/series/1"}, 404, "There is no IPTV provider"),
        ({"url": "iptv://nobody/movie/1"}, 422, "An IPTV subscription is to a series"),
    ]
    for body, status, sentence in cases:
        answer = await app.post("/subscriptions", json=body)
        assert answer.status_code == status, (body, answer.text)
        assert sentence in str(answer.json()["detail"]), (body, answer.text)
    made = await subscribe(app, url=channel.url, paused=True)
    twice = await app.post("/subscriptions", json={"url": channel.url})
    assert twice.status_code == 409
    assert f"subscription {made['id']}" in twice.json()["detail"]
    paused = await app.post(f"/subscriptions/{made['id']}/check")
    assert paused.status_code == 409 and "resume it" in paused.json()["detail"]
    assert made["next_check_at"] is None
    resumed = await app.http.patch(f"/api/v1/subscriptions/{made['id']}", json={"paused": False})
    assert resumed.status_code == 200 and resumed.json()["next_check_at"] is not None
    gone = await app.http.delete(f"/api/v1/subscriptions/{made['id']}")
    assert gone.status_code == 204
    assert (await app.get(f"/subscriptions/{made['id']}")).status_code == 404


async def test_a_failed_check_is_shown_and_the_next_one_backs_off(app: App, origin: Origin) -> None:
    made = await subscribe(app, url=origin.url("/gone"))
    done = await app.post(f"/subscriptions/{made['id']}/check")
    assert done.status_code == 200
    error = done.json()["error"]
    assert error and "404" in error
    shown = done.json()["subscription"]
    assert shown["last_error"] == error and shown["failures"] == 1
    soon = datetime.fromisoformat(shown["next_check_at"]) - datetime.now(UTC)
    assert timedelta(seconds=30) < soon < timedelta(minutes=2)  # sooner than the hour, at first
    listed = (await app.get("/subscriptions")).json()["items"]
    assert [s["last_error"] for s in listed] == [error]


async def test_new_downloads_are_told_as_subscription_new(app: App, channel: Channel) -> None:
    channel.show(2)
    with WebhookReceiver() as hooks:
        target = await app.post(
            "/notifications",
            json={"kind": "webhook", "url": hooks.url(), "events": ["subscription.new"]},
        )
        assert target.status_code == 201, target.text
        made = await subscribe(app, url=channel.url, backfill="all")
        first = await check(app, made["id"])

        def told() -> list[Any]:
            got = [r for r in hooks.requests if r.header("X-Haul-Event") == "subscription.new"]
            return got if len(got) >= 2 else []

        requests: list[Any] = await await_for(told, 10, what="two of them")
        documents = [r.json for r in requests]
        assert {d["event"] for d in documents} == {"subscription.new"}
        assert sorted(d["download"]["id"] for d in documents) == sorted(first["downloads"])
        assert {d["download"]["subscription"]["id"] for d in documents} == {made["id"]}
        assert {d["download"]["status"] for d in documents} == {"queued"}
        await all_finished(app, first["downloads"])


async def test_the_pages_add_check_and_show_what_was_seen(app: App, channel: Channel) -> None:
    from tests.integration.test_web_pages import HTML, open_page

    channel.show(2)
    page, csrf = await open_page(app, "/subscriptions")
    assert "You have no subscriptions yet." in page
    added = await app.http.post(
        "/subscriptions",
        data={"csrf": csrf, "url": channel.url, "backfill": "all", "interval_minutes": "30"},
        headers=HTML,
    )
    assert added.status_code == 303, added.text
    detail_path = added.headers["location"].split("?")[0]
    detail, csrf = await open_page(app, detail_path)
    assert "Check now" in detail and "Nothing seen yet" in detail
    checked = await app.http.post(f"{detail_path}/check", data={"csrf": csrf}, headers=HTML)
    assert checked.status_code == 303  # on to the subscription's page: a reload checks nothing
    checked = await app.http.get(checked.headers["location"], headers=HTML)
    assert "Checked: 2 new downloads." in checked.text
    assert checked.text.count('<a href="/downloads/') == 2
    bad = await app.http.post(
        detail_path, data={"csrf": csrf, "interval_minutes": "2"}, headers=HTML
    )
    assert bad.status_code == 422 and "every 5 to 10080 minutes" in bad.text
    paused = await app.http.post(f"{detail_path}/pause", data={"csrf": csrf}, headers=HTML)
    assert paused.status_code == 303
    listing, _ = await open_page(app, "/subscriptions")
    assert "A haul channel" in listing and ">paused<" in listing
    items = (await app.get("/subscriptions")).json()["items"]
    assert [(s["interval_minutes"], s["paused"]) for s in items] == [(30, True)]
    entries = (await app.get(f"{detail_path}/entries")).json()["items"]
    await all_finished(app, [e["download_id"] for e in entries])


async def test_keep_last_keeps_only_the_newest_files(app: App, channel: Channel) -> None:
    channel.show(1)
    made = await subscribe(app, url=channel.url, backfill="all", keep_last=1)
    [older] = (await check(app, made["id"]))["downloads"]
    root = app.runtime.settings.downloads_root
    files = {older: root / (await finished(app, older, timeout=90))["files"][0]["path"]}
    channel.show(2)  # a clip that appears later is newer (the listing gives no dates)
    [newer] = (await check(app, made["id"]))["downloads"]
    # the check lets the older file go once the newer one is complete: at its end (a quick
    # download), else at the next check
    files[newer] = root / (await finished(app, newer, timeout=90))["files"][0]["path"]
    assert files[newer].exists()
    await check(app, made["id"])  # finds nothing new, and lets the older file go

    def gone() -> bool:
        return not files[older].exists()

    await await_for(gone, 30, what="the older file to be deleted")
    assert files[newer].exists()
    assert (await app.get(f"/downloads/{older}")).status_code == 404  # out of view
    assert (await app.get(f"/downloads/{newer}")).json()["status"] == "completed"
    entries = (await app.get(f"/subscriptions/{made['id']}/entries")).json()["items"]
    became = {e["download_id"]: e["download_status"] for e in entries}
    assert became == {older: "removed", newer: "completed"}
    shown = await app.http.get(f"/subscriptions/{made['id']}", headers={"Accept": "text/html"})
    assert f"download {older}, removed since" in shown.text
    assert f'href="/downloads/{older}"' not in shown.text  # no link to a page that is gone
    assert f'href="/downloads/{newer}"' in shown.text


async def test_an_administrator_sees_whose_each_subscription_is(settings: Settings) -> None:
    from tests.support.people import crowd

    async with crowd(settings) as people:
        for person in (people.alice, people.bob):
            made = await person.post(
                "/subscriptions", json={"url": "http://example.test/channel", "paused": True}
            )
            assert made.status_code == 201, made.text
            assert made.json()["owner_name"] == person.name
        seen = (await people.admin.get("/subscriptions")).json()["items"]
        assert sorted(s["owner_name"] for s in seen) == ["alice", "bob"]
        own = (await people.bob.get("/subscriptions")).json()["items"]
        assert [s["owner_name"] for s in own] == ["bob"]

        html = {"Accept": "text/html"}
        listing = (await people.admin.http.get("/subscriptions", headers=html)).text
        assert "Everyone&#39;s" in listing and ">Owner</th>" in listing
        assert '<td class="owner">alice</td>' in listing
        assert '<td class="owner">bob</td>' in listing
        mine = (await people.bob.http.get("/subscriptions", headers=html)).text
        assert ">Yours</h2>" in mine and ">Owner</th>" not in mine
        detail = await people.admin.http.get(f"/subscriptions/{seen[0]['id']}", headers=html)
        assert f'id="subscription-owner">{seen[0]["owner_name"]}<' in detail.text
