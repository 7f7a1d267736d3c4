"""The pure parts of the operator's logs: domains of sources, cursors, text filters, page
links."""

from __future__ import annotations

import pytest

from haul.core.sources import domain_of
from haul.errors import InvalidCursor
from haul.service.logs import below, words_of
from haul.web.ui.logs import LogFilters, _filters


@pytest.mark.parametrize(
    ("url", "domain"),
    [
        ("https://Video.Example.COM:8443/watch?v=1", "video.example.com"),
        ("http://user:secret@files.example/a.mkv", "files.example"),
        ("magnet:?xt=urn:btih:" + "a" * 40, "magnet"),
        ("iptv://3/movie/101", "iptv:3"),
        ("iptv://12/episode/7?series=4", "iptv:12"),
        ("http://[::1]:8000/x", "::1"),
        ("not a url", ""),
        ("http://[broken/", ""),
    ],
)
def test_domain_of_a_source(url: str, domain: str) -> None:
    assert domain_of(url) == domain


def test_a_cursor_is_the_last_id_of_the_page_before() -> None:
    assert below(None) is None and below("") is None
    assert below("120") == 120 and below(str(2**31 - 1)) == 2**31 - 1
    for bad in ("abc", "-5", "1.5", "9" * 30, str(2**31)):
        with pytest.raises(InvalidCursor):
            below(bad)


def test_text_filters_are_words() -> None:
    assert words_of("  not   found ") == ["not", "found"]
    assert words_of(None) == []
    assert len(words_of("w " * 50)) == 8


def test_page_links_keep_the_filters() -> None:
    errors = _filters("errors", " Example.COM ", "http_404", "  not  found ")
    assert errors == LogFilters("errors", "example.com", "http_404", "not found")
    assert errors.url(cursor="55") == "/logs?domain=example.com&code=http_404&q=not+found&cursor=55"
    links = _filters("unsupported", "", "http_404", "")
    assert links.code == "" and links.url() == "/logs?log=unsupported"
    assert _filters("whatever", "", "", "").url() == "/logs"
