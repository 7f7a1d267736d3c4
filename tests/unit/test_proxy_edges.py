"""The small decisions behind a reverse proxy: where a redirect goes under a base path, which
forwarded host name is taken, and when a browser's ``Origin`` is haul's own."""

from __future__ import annotations

import pytest

from haul.web.basepath import moved_location
from haul.web.origin import same_origin
from haul.web.proxies import forwarded_host


@pytest.mark.parametrize(
    ("location", "moved"),
    [
        ("/login?next=%2F", "/haul/login?next=%2F"),
        ("/", "/haul/"),
        ("http://nas.lan/api/v1/downloads", "http://nas.lan/haul/api/v1/downloads"),
        ("http://nas.lan", "http://nas.lan/haul/"),
        # Not haul's: another site, a protocol-relative address, another name.
        ("https://example.org/x", "https://example.org/x"),
        ("//example.org/x", "//example.org/x"),
        ("http://other.lan/x", "http://other.lan/x"),
    ],
)
def test_a_redirect_is_moved_under_the_base_path_when_it_is_hauls(
    location: str, moved: str
) -> None:
    assert moved_location(location, "/haul", "nas.lan") == moved


@pytest.mark.parametrize(
    ("headers", "host"),
    [
        ([(b"x-forwarded-host", b"haul.example.com")], b"haul.example.com"),
        ([(b"x-forwarded-host", b"haul.example.com:8443")], b"haul.example.com:8443"),
        # The nearest proxy's word is the last one.
        ([(b"x-forwarded-host", b"evil.example, haul.example.com")], b"haul.example.com"),
        ([(b"x-forwarded-host", b"a.example"), (b"x-forwarded-host", b"b.example")], b"b.example"),
        ([(b"x-forwarded-host", b"not a/name")], None),
        ([(b"host", b"haul.example.com")], None),
    ],
)
def test_the_forwarded_host(headers: list[tuple[bytes, bytes]], host: bytes | None) -> None:
    assert forwarded_host(headers) == host


def test_an_origin_is_hauls_by_host_and_by_scheme_when_known() -> None:
    assert same_origin("http://127.0.0.1:8680", "127.0.0.1:8680", None)
    assert same_origin("https://127.0.0.1:8680", "127.0.0.1:8680", None)
    assert not same_origin("http://127.0.0.1:8681", "127.0.0.1:8680", None)
    assert same_origin("https://haul.example.com", "haul.example.com", "https")
    assert not same_origin("http://haul.example.com", "haul.example.com", "https")
