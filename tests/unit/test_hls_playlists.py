"""Reading HLS playlists for live recording: what is live, which variant, what is refused."""

from __future__ import annotations

import pytest

from haul.engine.hls import is_master, parse_master, parse_media
from haul.errors import PermanentTransferError

BASE = "http://cdn.example/channel/index.m3u8"


def media(*lines: str) -> str:
    return "\n".join(["#EXTM3U", "#EXT-X-TARGETDURATION:4", *lines]) + "\n"


def test_a_growing_playlist_is_live_and_numbers_its_segments() -> None:
    text = media("#EXT-X-MEDIA-SEQUENCE:41", "#EXTINF:4.0,", "a.ts", "#EXTINF:3.5,", "b/c.ts")
    found = parse_media(text, BASE)
    assert found.live and found.target == 4.0
    assert [(s.sequence, s.duration, s.url) for s in found.segments] == [
        (41, 4.0, "http://cdn.example/channel/a.ts"),
        (42, 3.5, "http://cdn.example/channel/b/c.ts"),
    ]


@pytest.mark.parametrize("end", ["#EXT-X-ENDLIST", "#EXT-X-PLAYLIST-TYPE:VOD"])
def test_an_ended_or_vod_playlist_is_not_live(end: str) -> None:
    assert not parse_media(media("#EXTINF:4,", "a.ts", end), BASE).live


def test_the_master_playlist_gives_its_best_variant() -> None:
    text = (
        "#EXTM3U\n"
        '#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS="avc1.4d401f,mp4a.40.2"\nlow.m3u8\n'
        "#EXT-X-STREAM-INF:BANDWIDTH=2500000,RESOLUTION=1280x720\nhigh/index.m3u8\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=1200000\nmid.m3u8\n"
    )
    assert is_master(text)
    assert parse_master(text, BASE) == "http://cdn.example/channel/high/index.m3u8"


def test_an_init_section_is_found() -> None:
    found = parse_media(media('#EXT-X-MAP:URI="init.mp4"', "#EXTINF:4,", "a.m4s"), BASE)
    assert found.init == "http://cdn.example/channel/init.mp4"


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ('#EXT-X-KEY:METHOD=AES-128,URI="k"', "encrypted"),
        ("#EXT-X-BYTERANGE:100@0", "byte ranges"),
    ],
)
def test_what_cannot_be_recorded_is_refused_with_a_sentence(line: str, said: str) -> None:
    with pytest.raises(PermanentTransferError, match=said):
        parse_media(media(line, "#EXTINF:4,", "a.ts"), BASE)


def test_a_page_is_not_a_playlist() -> None:
    with pytest.raises(PermanentTransferError, match="not an HLS playlist"):
        parse_media("<html></html>", BASE)
