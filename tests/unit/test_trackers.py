"""The trackers and web seeds a torrent names, and the literal check of each against the
address policy (the lookup of names at hand-over is tested against a real aria2)."""

from __future__ import annotations

import pytest

from haul.core import trackers
from haul.core.torrents import parse_torrent
from haul.errors import ForbiddenAddress, InputError
from tests.support.torrents import bencode

HASH = "c" * 40


def test_a_magnet_names_its_trackers_seeds_and_sources() -> None:
    url = (
        f"magnet:?xt=urn:btih:{HASH}&tr=udp%3A%2F%2Ft.example%3A80&tr=http://t2.example/a"
        "&ws=http://seed.example/f&xs=http://x.example/t.torrent&xs=urn:btpk:abc"
        "&as=https://a.example/f"
    )
    assert trackers.magnet_addresses(url) == [
        ("tracker", "udp://t.example:80"),
        ("tracker", "http://t2.example/a"),
        ("web seed", "http://seed.example/f"),
        ("torrent source", "http://x.example/t.torrent"),
        ("source", "https://a.example/f"),
    ]


def test_numbered_trackers_and_peers_of_a_magnet_are_checked_too() -> None:
    url = (
        f"magnet:?xt=urn:btih:{HASH}&tr.1=http://169.254.169.254/a&x.pe=10.0.0.5:6881"
        "&TR.2=udp://t.example:80"
    )
    assert trackers.magnet_addresses(url) == [
        ("tracker", "http://169.254.169.254/a"),
        ("peer", "peer://10.0.0.5:6881"),
        ("tracker", "udp://t.example:80"),
    ]
    with pytest.raises(ForbiddenAddress, match=r"169\.254\.169\.254"):
        trackers.check(trackers.magnet_addresses(url), allow_private=True)
    peer_only = f"magnet:?xt=urn:btih:{HASH}&x.pe=10.0.0.5:6881"
    with pytest.raises(ForbiddenAddress, match=r"peer 10\.0\.0\.5:6881 is a private"):
        trackers.check(trackers.magnet_addresses(peer_only), allow_private=False)
    trackers.check(trackers.magnet_addresses(peer_only), allow_private=True)


def test_a_torrent_names_its_announce_list_and_web_seeds() -> None:
    info = {"name": "a", "piece length": 16384, "pieces": b"x" * 20, "length": 1}
    blob = bencode(
        {
            "info": info,
            "announce": "http://one.example/a",
            "announce-list": [["http://one.example/a", "udp://two.example:1"], ["wss://3.ex/"]],
            "url-list": "http://seed.example/",
            "httpseeds": ["http://old.example/seed"],
        }
    )
    assert parse_torrent(blob).addresses == (
        ("tracker", "http://one.example/a"),
        ("tracker", "http://one.example/a"),
        ("tracker", "udp://two.example:1"),
        ("tracker", "wss://3.ex/"),
        ("web seed", "http://seed.example/"),
        ("web seed", "http://old.example/seed"),
    )


@pytest.mark.parametrize(
    ("url", "allow_private", "said"),
    [
        ("http://127.0.0.1:6969/announce", False, "private or loopback"),
        ("udp://[::1]:80", False, "private or loopback"),
        ("http://10.1.2.3/", False, "private or loopback"),
        ("http://169.254.169.254/latest", True, "link-local, metadata or multicast"),
        ("http://[::ffff:169.254.169.254]/", True, "link-local, metadata or multicast"),
        ("http://100.100.100.200/", True, "link-local, metadata or multicast"),
        ("udp://224.0.0.1:80", True, "link-local, metadata or multicast"),
        ("http://metadata.google.internal/", True, "cloud metadata service"),
        ("file:///etc/passwd", True, "not an http, https or udp URL"),
        ("gopher://example.org/", True, "not an http, https or udp URL"),
        ("http:///nohost", True, "has no valid host"),
    ],
)
def test_forbidden_trackers_are_refused_by_name(url: str, allow_private: bool, said: str) -> None:
    reason = trackers.refusal("tracker", url, allow_private=allow_private)
    assert reason is not None and said in reason
    assert reason.startswith("The torrent's tracker ")
    with pytest.raises(ForbiddenAddress):
        trackers.check([("tracker", url)], allow_private=allow_private)


@pytest.mark.parametrize(
    ("url", "allow_private"),
    [
        ("http://127.0.0.1:6969/announce", True),
        ("udp://tracker.example.org:1337/announce", False),
        ("https://localhost/announce", False),  # a name: looked up at hand-over
        ("wss://tracker.example.org/", False),
    ],
)
def test_allowed_trackers_pass(url: str, allow_private: bool) -> None:
    assert trackers.refusal("tracker", url, allow_private=allow_private) is None


def test_names_are_looked_up_once_and_addresses_not_at_all() -> None:
    listed = [
        ("tracker", "http://a.example/x"),
        ("web seed", "http://A.example./y"),
        ("tracker", "udp://192.0.2.1:80"),
    ]
    assert trackers.hosts(listed) == {"a.example": ("tracker", "http://a.example/x")}


def test_a_torrent_naming_too_many_hosts_is_refused() -> None:
    many = [("tracker", f"http://t{i}.example/") for i in range(trackers.MAX_HOSTS + 1)]
    with pytest.raises(InputError, match="at most that many"):
        trackers.check(many, allow_private=False)
    trackers.check(many[:-1], allow_private=False)
