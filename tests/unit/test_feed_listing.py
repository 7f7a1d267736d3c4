"""What a feed lists: each item's enclosure (fetched directly) or else its link (a page for
yt-dlp), its guid as its key, its date; RSS and Atom alike."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from haul.errors import PermanentTransferError
from haul.worker.listings import feed_listing

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
