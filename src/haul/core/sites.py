"""Rules for being polite to a site (pure): how many transfers at once, and a pause between
requests.

A rule names a domain and holds for that host and every host under it (``youtube.com``
holds for ``www.youtube.com`` and ``music.youtube.com``); where several rules fit a host,
the one with the longest domain wins. A download's site is the host of its source URL, in
lower case and in its ASCII (IDNA) spelling, stored when it is submitted
(:func:`site_of`); admission (:mod:`haul.core.admission`) counts the transfers running per
rule across every worker, and the engines pause ``sleep_seconds`` between requests.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from haul.core.numbers import whole_in

#: The most transfers a rule may allow at once, the longest pause it may ask for, and the
#: most connections it may allow one download (1: never more than one, as IPTV panels want).
MAX_TRANSFERS = 100
MAX_SLEEP = 3600.0
MAX_CONNECTIONS = 16
MAX_RULES = 200
#: What a rule's example in messages and forms looks like.
EXAMPLE = '[{"domain": "youtube.com", "max_transfers": 2, "sleep_seconds": 5}]'

_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


@dataclass(frozen=True, slots=True)
class SiteRule:
    """One rule: at most ``max_transfers`` transfers from ``domain`` (and the hosts under it)
    at once, ``sleep_seconds`` between requests to it, at most ``connections`` connections
    for one file (None: haul's setting)."""

    domain: str
    max_transfers: int | None = None
    sleep_seconds: float = 0.0
    connections: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "max_transfers": self.max_transfers,
            "sleep_seconds": self.sleep_seconds,
            "connections": self.connections,
        }


def ascii_host(name: str) -> str | None:
    """``name`` as a host name in lower case and ASCII (IDNA, ``bücher.de`` ->
    ``xn--bcher-kva.de``), without a final dot; an IP address as it is written; None when it
    is neither."""
    text = name.strip().rstrip(".").lower()
    if not text:
        return None
    try:
        return str(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        pass
    try:
        text = text.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    labels = text.split(".")
    if len(text) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        return None
    return text


def site_of(url: str) -> str | None:
    """The site of a source URL: its host (see :func:`ascii_host`); None for what has no
    host (a magnet link, a .torrent upload)."""
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    if not host:
        return None
    return ascii_host(host)


def rule_domain(host: str | None, domains: Iterable[str]) -> str | None:
    """The domain of the rule that holds for ``host``: the longest of ``domains`` that is
    ``host`` itself or a parent of it; None when none is."""
    if not host:
        return None
    best: str | None = None
    for domain in domains:
        if (host == domain or host.endswith("." + domain)) and (
            best is None or len(domain) > len(best)
        ):
            best = domain
    return best


def per_rule(counts: Mapping[str, int], domains: Iterable[str]) -> dict[str, int]:
    """Counts per site (host) summed per rule domain; hosts no rule holds for are left out."""
    wanted = list(domains)
    out: dict[str, int] = {}
    for host, count in counts.items():
        domain = rule_domain(host, wanted)
        if domain is not None:
            out[domain] = out.get(domain, 0) + count
    return out


def rule_for(host: str | None, rules: Sequence[SiteRule]) -> SiteRule | None:
    """The rule that holds for ``host`` (see :func:`rule_domain`), or None."""
    domain = rule_domain(host, (r.domain for r in rules))
    return next((r for r in rules if r.domain == domain), None) if domain else None


def parse_rules(value: object) -> tuple[SiteRule, ...]:
    """Clean site rules from JSON (a list of objects with ``domain``, ``max_transfers``,
    ``sleep_seconds``) or its text; ValueError with a sentence naming what is wrong."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return ()
        try:
            value = json.loads(text)
        except ValueError:
            raise ValueError(
                f"site_rules must be a JSON list of rules such as {EXAMPLE}."
            ) from None
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, list | tuple):
        raise ValueError(f"site_rules must be a list of rules such as {EXAMPLE}.")
    if len(value) > MAX_RULES:
        raise ValueError(f"site_rules can hold at most {MAX_RULES} rules.")
    problems = rule_problems(value)
    if problems:
        raise ValueError(" ".join(problems.values()))
    return tuple(_rule(raw, number) for number, raw in enumerate(value, 1))


def rule_problems(rules: Sequence[object]) -> dict[int, str]:
    """What is wrong with each bad rule of ``rules``, by its place (from 0): every bad rule
    at once, not only the first, so a form can say each beside its row."""
    problems: dict[int, str] = {}
    seen: set[str] = set()
    for index, raw in enumerate(rules):
        try:
            rule = _rule(raw, index + 1)
        except ValueError as exc:
            problems[index] = str(exc)
            continue
        if rule.domain in seen:
            problems[index] = f"site_rules names {rule.domain} twice; give each domain one rule."
        seen.add(rule.domain)
    return problems


def _rule(raw: object, number: int) -> SiteRule:
    where = f"Rule {number} of site_rules"
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where} must be an object such as {EXAMPLE[1:-1]}.")
    unknown = sorted(set(raw) - {"domain", "max_transfers", "sleep_seconds", "connections"})
    if unknown:
        raise ValueError(
            f"{where} has no field {unknown[0]!r}; a rule has domain, max_transfers, "
            "sleep_seconds and connections."
        )
    domain = raw.get("domain")
    text = domain.strip().lower().removeprefix("*.") if isinstance(domain, str) else ""
    if "://" in text:
        text = urlsplit(text).hostname or ""
    host = ascii_host(text) if text else None
    if host is None:
        shown = repr(domain)[:80]
        raise ValueError(
            f"{where}: {shown} is not a domain; give a site's name such as youtube.com "
            "(it holds for its subdomains too)."
        )
    transfers = raw.get("max_transfers")
    if transfers is not None:
        transfers = whole_in(transfers, 1, MAX_TRANSFERS)
        if transfers is None:
            raise ValueError(
                f"{where} ({host}): max_transfers must be a whole number from 1 to "
                f"{MAX_TRANSFERS}, or null for no limit."
            )
    sleep = raw.get("sleep_seconds", 0)
    if sleep is None:
        sleep = 0
    try:
        seconds = float(sleep) if not isinstance(sleep, bool) else -1.0
    except (TypeError, ValueError):
        seconds = -1.0
    if not 0 <= seconds <= MAX_SLEEP:  # NaN fails too
        raise ValueError(
            f"{where} ({host}): sleep_seconds must be a number of seconds from 0 to "
            f"{MAX_SLEEP:.0f}."
        )
    connections = _connections(raw.get("connections"), f"{where} ({host})")
    if transfers is None and seconds == 0 and connections is None:
        raise ValueError(
            f"{where} ({host}) asks for nothing; give max_transfers, sleep_seconds, "
            "connections or several."
        )
    return SiteRule(host, transfers, seconds, connections)


def _connections(value: object, where: str) -> int | None:
    if value is None:
        return None
    number = whole_in(value, 1, MAX_CONNECTIONS)
    if number is None:
        raise ValueError(
            f"{where}: connections must be a whole number from 1 to {MAX_CONNECTIONS} "
            "(1: one connection per file), or null for haul's setting."
        )
    return number


def caps(rules: Iterable[SiteRule]) -> dict[str, int]:
    """Domain -> the most transfers at once, for the rules that limit them."""
    return {r.domain: r.max_transfers for r in rules if r.max_transfers is not None}
