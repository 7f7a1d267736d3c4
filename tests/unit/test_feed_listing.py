"""What a feed lists: each item's enclosure (fetched directly) or else its link (a page for
yt-dlp), its guid as its key, its date; RSS and Atom alike. And what a page's entries are
keyed by: never only their place in the page."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from haul.core.subscriptions import Rules, plan
from haul.engine.ytdlp import ExtractedEntry, Extraction
from haul.errors import PermanentTransferError
from haul.store.subscriptions import Due
from haul.worker.listings import Listings, feed_listing

RSS = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>A show</title>
<item><title>Two</title><guid>ep-2</guid><pubDate>Tue, 02 Jan 2024 10:00:00 GMT</pubDate>
  <enclosure url="/media/2.mp3" type="audio/mpeg" length="1"/></item>
<item><title>One</title><link>https://videos.example/watch/1</link>
  <pubDate>Mon, 01 Jan 2024 10:00:00 GMT</pubDate></item>
<item><description>nothing to fetch</description></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Talks</title>
<entry><id>urn:talk:7</id><title>Seven</title><updated>2024-03-01T00:00:00Z</updated>
  <link rel="alternate" href="https://talks.example/7"/>
  <link rel="enclosure" href="https://talks.example/7.mp4" type="video/mp4"/></entry>
</feed>"""


async def test_rss_items_give_their_enclosure_or_their_link() -> None:
    listing = await feed_listing("https://podcast.example/show/feed", RSS)
    assert listing.kind == "feed" and listing.title == "A show"
    two, one, nothing = listing.entries
    assert (two.key, two.url, two.title) == (
        "feed:ep-2",
        "https://podcast.example/media/2.mp3",
        "Two",
    )
    assert two.published == datetime(2024, 1, 2, 10, tzinfo=UTC)
    assert (one.key, one.url) == (
        "feed:https://videos.example/watch/1",
        "https://videos.example/watch/1",
    )
    assert nothing.url is None  # remembered, never downloaded


async def test_atom_entries_too() -> None:
    listing = await feed_listing("https://talks.example/atom", ATOM)
    [seven] = listing.entries
    assert (seven.key, seven.url, seven.title) == (
        "feed:urn:talk:7",
        "https://talks.example/7.mp4",
        "Seven",
    )
    assert seven.published == datetime(2024, 3, 1, tzinfo=UTC)


async def test_what_is_no_feed_is_said() -> None:
    with pytest.raises(PermanentTransferError, match="cannot be read"):
        await feed_listing("https://x.example/feed", b"<html><p>not a feed")


async def test_an_item_with_nothing_to_tell_it_by_is_left_out() -> None:
    body = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>S</title>
<item><pubDate>Mon, 01 Jan 2024 10:00:00 GMT</pubDate></item>
<item><pubDate>Tue, 02 Jan 2024 10:00:00 GMT</pubDate></item>
<item><guid>ep-1</guid><enclosure url="/1.mp3" type="audio/mpeg" length="1"/></item>
</channel></rss>"""
    listing = await feed_listing("https://podcast.example/feed", body)
    assert [e.key for e in listing.entries] == ["feed:ep-1"]  # no "feed:None" merging items


async def test_a_page_entry_with_no_link_nor_id_is_never_downloaded_by_its_place() -> None:
    page = "https://videos.example/channel"

    def extract(url: str, **_: object) -> Extraction:
        return Extraction(
            "playlist",
            url,
            title="A channel",
            extractor="Generic",
            entries=(
                ExtractedEntry(1, "https://videos.example/w/1", "Own link", id="1"),
                ExtractedEntry(2, None, "Id only", id="2"),
                ExtractedEntry(3, None, "Nothing of its own"),
            ),
        )

    async with httpx.AsyncClient() as http:
        lister = Listings(http, None, extract=extract)
        listing = await lister(Due(1, "alice", page, "playlist", 60, primed=True))
    own, by_id, nothing = listing.entries
    assert (own.url, own.playlist_index, own.refused) == ("https://videos.example/w/1", None, None)
    assert (by_id.key, by_id.playlist_index, by_id.refused) == ("Generic:2", 2, None)
    assert nothing.refused is not None and "neither a link nor an id" in nothing.refused
    decided = plan(listing.entries, set(), first=True, rules=Rules("all"))
    assert [d.skipped for d in decided.decisions] == [None, None, "refused"]
