"""The names haul answers to (a guard against DNS rebinding), without a server."""

from __future__ import annotations

import pytest

from haul.core.hosts import KnownHosts, host_name
from haul.errors import BadSettings
from haul.settings import load_settings

LOOPBACK = KnownHosts.of("127.0.0.1", "")


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "localhost:8680",
        "LOCALHOST.",
        "127.0.0.1",
        "127.0.0.1:8680",
        "[::1]",
        "[::1]:8680",
        None,  # HTTP/1.0 without Host: no browser sends that
    ],
)
def test_loopback_names_are_always_known(host: str | None) -> None:
    assert LOOPBACK.allows(host)


@pytest.mark.parametrize(
    "host",
    [
        "rebind.example",  # a page whose name now resolves to 127.0.0.1
        "rebind.example:8680",
        "localhost.rebind.example",
        "127.0.0.1.rebind.example",
        "",
        "127.0.0.1:notaport",
        "user@127.0.0.1",
        "127.0.0.1/x",
    ],
)
def test_other_names_are_refused(host: str) -> None:
    assert not LOOPBACK.allows(host)


def test_haul_host_and_allowed_hosts_are_known() -> None:
    known = KnownHosts.of("nas.lan", " media.example.com , 192.168.1.20:8680, [fd00::5] ")
    for host in ("nas.lan:8680", "media.example.com", "192.168.1.20", "[fd00::5]:80"):
        assert known.allows(host), host
    assert not known.allows("other.example.com")


def test_a_wildcard_listen_address_stands_for_no_name() -> None:
    for wildcard, shown in (("0.0.0.0", "0.0.0.0:8680"), ("::", "[::]:8680")):
        known = KnownHosts.of(wildcard, "")
        assert known.allows(shown)  # what `haul serve` prints
        assert not known.allows("nas.lan")
        assert known.allows("localhost:8680")


def test_the_address_a_request_arrived_at_is_known_but_not_a_name() -> None:
    known = KnownHosts.of("0.0.0.0", "")
    assert known.allows("192.168.1.20:8680", arrived_at="192.168.1.20")
    assert known.allows("[fe80::1]:8680", arrived_at="fe80::1")
    assert not known.allows("192.168.1.21:8680", arrived_at="192.168.1.20")
    assert not known.allows("nas.lan:8680", arrived_at="nas.lan")  # only an address counts
    # A dual-stack socket on :: sees an IPv4 client's connection at ::ffff:192.168.1.20.
    assert KnownHosts.of("::", "").allows("192.168.1.20", arrived_at="::ffff:192.168.1.20")


def test_a_star_turns_the_check_off() -> None:
    assert KnownHosts.of("127.0.0.1", "*").allows("anything.example")


def test_the_refusal_says_what_to_set() -> None:
    message = KnownHosts.of("127.0.0.1", "").refusal("nas.lan:8680")
    assert "'nas.lan:8680'" in message and "HAUL_ALLOWED_HOSTS=nas.lan " in message
    wildcard = KnownHosts.of("0.0.0.0", "").refusal("nas.lan")
    assert "listens on 0.0.0.0" in wildcard and "HAUL_ALLOWED_HOSTS=nas.lan " in wildcard
    hostile = KnownHosts.of("127.0.0.1", "").refusal("x\x1b[31m" + "y" * 500)
    assert "\x1b" not in hostile and len(hostile) < 400


def test_names_are_read_like_a_browser_sends_them() -> None:
    assert host_name("Example.COM.:443") == "example.com"
    assert host_name("[::1]:8680") == "::1"
    assert host_name("a b") is None and host_name("") is None


def test_an_allowed_host_that_is_no_name_is_a_bad_setting() -> None:
    with pytest.raises(BadSettings) as caught:
        load_settings(allowed_hosts="nas.lan, http://x/y")
    assert "HAUL_ALLOWED_HOSTS" in str(caught.value) and "http://x/y" in str(caught.value)
    assert load_settings(allowed_hosts="nas.lan,*").allowed_hosts == "nas.lan,*"
