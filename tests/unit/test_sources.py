import pytest

from haul.core.sources import parse_source
from haul.errors import ForbiddenAddress, InvalidURL


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty"),
        ("file:///etc/passwd", "'file:'"),
        ("gopher://example.com/", "'gopher:'"),
        ("example.com/video", "no scheme"),
        ("http://", "no host"),
        ("http://exa mple.com:99999/", "port"),
        ("http://a.com/\x00x", "control characters"),
        ("magnet:?dn=nothing", "info-hash"),
        ("magnet:?xt=urn:btih:123", "40 hex"),
        ("http://[x", "host is not valid"),
        ("ftp://x[/b]", "host is not valid"),
        ("https://a]b/", "host is not valid"),
    ],
)
def test_bad_sources_are_refused_with_a_sentence(raw: str, message: str) -> None:
    with pytest.raises(InvalidURL) as info:
        parse_source(raw)
    assert message in info.value.message


@pytest.mark.parametrize(
    "raw",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://[::ffff:169.254.169.254]/",
        "http://0.0.0.0:8080/",
    ],
)
def test_link_local_and_metadata_are_always_refused(raw: str) -> None:
    with pytest.raises(ForbiddenAddress):
        parse_source(raw, allow_private=True)


def test_private_ranges_follow_the_setting() -> None:
    assert parse_source("http://192.168.1.5/movie.mkv", allow_private=True).kind == "url"
    assert parse_source("http://127.0.0.1:8000/a", allow_private=True).kind == "url"
    with pytest.raises(ForbiddenAddress) as info:
        parse_source("http://10.0.0.8/a", allow_private=False)
    assert "private" in info.value.message


def test_urls_are_normalised_for_duplicate_detection() -> None:
    a = parse_source("  HTTP://Example.COM:80/v?id=1#frag ")
    b = parse_source("http://example.com/v?id=1")
    assert a.url == "http://example.com/v?id=1"
    assert a.dedupe_key == b.dedupe_key
    assert parse_source("https://example.com:8443/x").url == "https://example.com:8443/x"


def test_magnets_dedupe_on_their_info_hash() -> None:
    h = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a"
    a = parse_source(f"magnet:?xt=urn:btih:{h}&dn=one")
    b = parse_source(f"magnet:?xt=urn:btih:{h.upper()}&tr=http://t/announce")
    assert a.kind == "magnet"
    assert a.dedupe_key == b.dedupe_key
