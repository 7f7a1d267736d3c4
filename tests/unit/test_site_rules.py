"""Site rules (pure): which rule holds for a host, parsing, admission per site, the pacer."""

from __future__ import annotations

import asyncio

import pytest

from haul.core.admission import Active, Candidate, Limits, choose
from haul.core.numbers import whole_in
from haul.core.sites import (
    SiteRule,
    parse_rules,
    per_rule,
    rule_domain,
    rule_for,
    rule_problems,
    site_of,
)
from haul.worker.pacing import SitePacer


@pytest.mark.parametrize(
    ("url", "site"),
    [
        ("https://www.YouTube.com/watch?v=1", "www.youtube.com"),
        ("http://bücher.de./x", "xn--bcher-kva.de"),
        ("http://127.0.0.1:8080/f", "127.0.0.1"),
        ("http://[::1]:80/f", "::1"),
        ("magnet:?xt=urn:btih:abc", None),
        ("not a url", None),
    ],
)
def test_site_of_a_source(url: str, site: str | None) -> None:
    assert site_of(url) == site


def test_the_longest_matching_rule_holds_and_subdomains_match() -> None:
    domains = ["youtube.com", "music.youtube.com", "tube.com"]
    assert rule_domain("www.youtube.com", domains) == "youtube.com"
    assert rule_domain("youtube.com", domains) == "youtube.com"
    assert rule_domain("a.music.youtube.com", domains) == "music.youtube.com"
    assert rule_domain("notyoutube.com", domains) is None  # not a subdomain
    assert rule_domain(None, domains) is None
    counts = {"www.youtube.com": 2, "m.youtube.com": 1, "music.youtube.com": 1, "x.org": 4}
    assert per_rule(counts, domains) == {"youtube.com": 3, "music.youtube.com": 1}
    rules = (SiteRule("youtube.com", 1), SiteRule("tube.com", None, 2.0))
    assert rule_for("a.tube.com", rules) == SiteRule("tube.com", None, 2.0)


def test_rules_parse_from_text_or_json_and_keep_ascii_names() -> None:
    text = (
        '[{"domain": "*.Example.COM.", "max_transfers": "2"},'
        ' {"domain": "b.org", "sleep_seconds": 1}]'
    )
    assert parse_rules(text) == (SiteRule("example.com", 2, 0.0), SiteRule("b.org", None, 1.0))
    assert parse_rules("") == ()
    assert parse_rules({"domain": "https://x.org/path", "max_transfers": 3}) == (
        SiteRule("x.org", 3),
    )
    with pytest.raises(ValueError, match="max_transfers must be a whole number from 1 to 100"):
        parse_rules([{"domain": "x.org", "max_transfers": True}])
    with pytest.raises(ValueError, match="sleep_seconds must be a number of seconds from 0"):
        parse_rules([{"domain": "x.org", "sleep_seconds": float("nan")}])


def test_admission_skips_a_site_at_its_limit_and_serves_the_next_in_line() -> None:
    limits = Limits(global_active=10, per_site={"youtube.com": 1})
    waiting = [
        Candidate(1, "a", None, 0, "www.youtube.com"),
        Candidate(2, "b", None, 1, "m.youtube.com"),
        Candidate(3, "c", None, 2, "example.org"),
        Candidate(4, "d", None, 3, None),
    ]
    assert choose(waiting, Active(), limits) == [1, 3, 4]
    busy = Active(total=1, per_site={"youtube.com": 1})
    assert choose(waiting, busy, limits) == [3, 4]
    taken = Active().taking(waiting[:2], limits)
    assert taken.per_site == {"youtube.com": 2} and taken.total == 2


async def test_the_pacer_spaces_the_starts_of_one_site_only() -> None:
    pacer = SitePacer()
    loop = asyncio.get_running_loop()
    began = loop.time()
    waits = await asyncio.gather(
        pacer.turn("a.org", 0.2), pacer.turn("a.org", 0.2), pacer.turn("b.org", 0.2)
    )
    assert waits[0] == 0 and waits[2] == 0
    assert waits[1] == pytest.approx(0.2, abs=0.05)
    assert loop.time() - began >= 0.19
    assert await pacer.turn("c.org", 0) == 0


def test_every_bad_rule_is_told_at_once() -> None:
    rows = [
        {"domain": "bad domain!", "max_transfers": 1},
        {"domain": "example.org", "max_transfers": 2},
        {"domain": "example.net", "max_transfers": 500},
        {"domain": "EXAMPLE.org.", "sleep_seconds": 1},
    ]
    problems = rule_problems(rows)
    assert sorted(problems) == [0, 2, 3]
    assert "is not a domain" in problems[0]
    assert "from 1 to 100" in problems[2]
    assert "names example.org twice" in problems[3]
    with pytest.raises(ValueError) as refused:
        parse_rules(rows)
    for sentence in problems.values():
        assert sentence in str(refused.value)


def test_a_rule_may_cap_the_connections_of_one_file() -> None:
    (rule,) = parse_rules([{"domain": "panel.example", "connections": 1}])
    assert rule == SiteRule("panel.example", None, 0.0, 1)
    assert rule.as_json()["connections"] == 1
    assert SiteRule("x.org", 2).as_json()["connections"] is None
    with pytest.raises(ValueError, match="connections must be a whole number from 1 to 16"):
        parse_rules([{"domain": "x.org", "connections": 0}])
    with pytest.raises(ValueError, match="connections must be a whole number"):
        parse_rules([{"domain": "x.org", "connections": True}])


def test_a_number_in_other_digits_is_refused_with_a_sentence() -> None:
    assert whole_in(" 3 ", 1, 16) == 3 and whole_in(3, 1, 16) == 3
    assert [whole_in(v, 1, 16) for v in ("²", "٣", True, 2.0, 0, 17, "")] == [None] * 7
    with pytest.raises(ValueError, match="connections must be a whole number"):
        parse_rules([{"domain": "panel.example", "connections": "²"}])
    with pytest.raises(ValueError, match="max_transfers must be a whole number"):
        parse_rules([{"domain": "panel.example", "max_transfers": "٣"}])
