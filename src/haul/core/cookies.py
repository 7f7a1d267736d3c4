"""Site cookies a person uploads (a Netscape ``cookies.txt``): reading them and telling which
ones a URL gets (pure).

The file is read by the standard library's :class:`http.cookiejar.MozillaCookieJar`, and
which cookies go with a request is decided by :class:`http.cookiejar.CookieJar` under a
policy that keeps host-only cookies to their own host (a cookie for ``.example.com`` goes to
``www.example.com`` too; one written for ``example.com`` without the leading dot goes there
only). Three things are added to what the standard library does: a cookie for a host name
without a dot (``localhost``, a NAS on the LAN called ``nas``) goes to that host, where the
standard library would look for it under ``nas.local`` and send it nowhere; an expiry of
``0``, which browsers' exporters write for a session cookie, means a session cookie (not one
that expired in 1970), and cookies that expired already are dropped.

A value never leaves a :class:`SiteCookies` but as the ``Cookie`` header of a request it is
for, or as cookies handed to yt-dlp for the site of a job: its ``repr`` shows the sites
and the count only, and no error message here quotes a line of the file.
"""

from __future__ import annotations

import io
import ipaddress
import time
import urllib.request
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http.cookiejar import (
    Cookie,
    CookieJar,
    DefaultCookiePolicy,
    LoadError,
    MozillaCookieJar,
)
from typing import Any
from urllib.parse import urlsplit

from haul.core.sites import ascii_host
from haul.errors import InputError, PayloadTooLarge

#: How MozillaCookieJar marks a cookie of a ``#HttpOnly_`` line (its ``HTTP_ONLY``).
HTTP_ONLY = "HTTPOnly"
#: The largest cookies.txt haul takes (a browser's whole export is a few hundred KB).
MAX_TEXT_BYTES = 1024 * 1024
#: The first line of the format (MozillaCookieJar insists on it; exporters often leave it out).
MAGIC = "# Netscape HTTP Cookie File"

FORMAT = (
    "each cookie is one line of seven fields separated by tabs (domain, include subdomains, "
    "path, secure, expiry, name, value), as a browser extension that exports cookies.txt "
    "writes it."
)
NOT_NETSCAPE = "This is not a cookies.txt in the Netscape format: " + FORMAT


class DotlessHostPolicy(DefaultCookiePolicy):
    """The standard library's policy, but a request to a host name without a dot
    (``localhost``, ``nas``) gets the cookies written for that very name (``nas`` or ``.nas``)
    and no other's; hosts with a dot are matched as the standard library matches them."""

    def domain_return_ok(self, domain: str, request: urllib.request.Request) -> bool:
        host = _dotless_host(request)
        if host is None:
            return super().domain_return_ok(domain, request)
        return _same_host(domain, host) and not (
            self.is_blocked(domain) or self.is_not_allowed(domain)
        )

    def return_ok_domain(self, cookie: Cookie, request: urllib.request.Request) -> bool:
        host = _dotless_host(request)
        if host is None:
            return super().return_ok_domain(cookie, request)
        return _same_host(cookie.domain, host)


def _dotless_host(request: urllib.request.Request) -> str | None:
    host = urlsplit(request.get_full_url()).hostname
    return host if host and "." not in host else None


def _same_host(domain: str, host: str) -> bool:
    return domain.lower().removeprefix(".") == host


def _policy() -> DefaultCookiePolicy:
    return DotlessHostPolicy(strict_ns_domain=DefaultCookiePolicy.DomainStrictNonDomain)


class _TextJar(MozillaCookieJar):
    """MozillaCookieJar reading from a text in memory instead of a file by name."""

    def read_text(self, text: str) -> None:
        # The reader is the standard library's; it is given the text as the file it reads.
        self._really_load(io.StringIO(text), "cookies.txt", True, True)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Parsed:
    """The cookies of a file and how many of its lines were left out (a domain that is no host
    name, or a name or value no request can carry)."""

    cookies: list[Cookie]
    left_out: int = 0

    @property
    def note(self) -> str | None:
        """The sentence that tells of the lines left out (None: none was)."""
        if not self.left_out:
            return None
        if self.left_out == 1:
            return f"1 line was left out: {WHY_LEFT_OUT}."
        return f"{self.left_out} lines were left out: {WHY_LEFT_OUT}."


#: Why a line of a cookies.txt is left out (the sentence never quotes the line).
WHY_LEFT_OUT = (
    "a domain that is not a host name, or a name or value with characters no request can carry"
)


def sendable(cookie: Cookie) -> bool:
    """Whether the cookie can go into a ``Cookie`` header: no control characters in its name,
    value or path, and a name without ``=``, ``;`` or spaces (HTTP libraries refuse such a
    header, and would fail every download from the site)."""
    value = cookie.value or ""
    parts = (cookie.name, value, cookie.path or "/")
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for part in parts for c in part):
        return False
    return bool(cookie.name) and not any(c in cookie.name for c in "=; \t")


def cookie_host(domain: str) -> str | None:
    """A cookie's domain as haul keeps it: a host name in lower case and ASCII (IDNA), with
    its leading dot if it had one (``.Bücher.de`` -> ``.xn--bcher-kva.de``), or an IP
    address; None when it is not a host name (spaces, control characters, markup...).
    ``localhost`` and other names without a dot are host names."""
    name = domain[1:] if domain.startswith(".") else domain
    if not name or any(c.isspace() or not c.isprintable() for c in name):
        return None
    host = ascii_host(name)
    if host is None or name.endswith("."):
        return None
    if is_ip_address(host):
        return host
    return ("." if domain.startswith(".") else "") + host


def is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def parse(text: str, *, now: float | None = None) -> list[Cookie]:
    """The cookies of a Netscape cookies.txt that have not expired yet (see
    :func:`parse_counted`)."""
    return parse_counted(text, now=now).cookies


def parse_counted(text: str, *, now: float | None = None) -> Parsed:
    """The cookies of a Netscape cookies.txt that have not expired yet, and how many lines
    were left out because their domain is not a host name (:func:`cookie_host`; a browser's
    export may hold an odd line, and such text is never stored or logged).

    Raises :class:`~haul.errors.InputError` (with a sentence, never a line of the file) when
    the text is empty, not in that format or holds no cookie still valid, and
    :class:`~haul.errors.PayloadTooLarge` past :data:`MAX_TEXT_BYTES`.
    """
    size = len(text.encode("utf-8", errors="replace"))
    if size > MAX_TEXT_BYTES:
        raise PayloadTooLarge(
            f"A cookies.txt of at most {MAX_TEXT_BYTES // (1024 * 1024)} MB is accepted; "
            f"this one has {size:,} bytes."
        )
    if "\x00" in text:
        raise InputError("A cookies.txt cannot contain NUL characters: " + FORMAT)
    if not text.strip():
        raise InputError("The cookies.txt is empty: export the cookies of the site again.")
    lines = text.lstrip("\ufeff").splitlines()
    if "HTTP Cookie File" not in lines[0]:  # the first line the reader insists on
        lines.insert(0, MAGIC)
    jar = _TextJar(policy=_policy())
    try:
        with warnings.catch_warnings():
            # On a malformed line the reader warns with the line (a value) in the text.
            warnings.simplefilter("ignore")
            jar.read_text("\n".join(lines) + "\n")
    except (LoadError, ValueError, UnicodeError):
        raise InputError(NOT_NETSCAPE) from None
    if not len(jar):
        raise InputError("There is no cookie in this cookies.txt: " + FORMAT)
    moment = time.time() if now is None else now
    kept = []
    left_out = expired = 0
    for cookie in jar:
        host = cookie_host(cookie.domain)
        if host is None or not sendable(cookie):
            left_out += 1
            continue
        cookie.domain = host
        if cookie.expires == 0:  # a session cookie, as exporters write it
            cookie.expires = None
            cookie.discard = True
        if cookie.expires is not None and cookie.expires <= moment:
            expired += 1
            continue
        kept.append(cookie)
    if not kept and left_out and not expired:
        raise InputError(
            "There is no cookie haul can send in this cookies.txt: every line "
            f"({left_out}) has {WHY_LEFT_OUT}."
        )
    if not kept:
        raise InputError("Every cookie in this cookies.txt has expired: export them again.")
    return Parsed(kept, left_out)


def domains_of(cookies: Iterable[Cookie]) -> list[str]:
    """The sites the cookies are for, as written (``.example.com``), sorted, each once."""
    return sorted({c.domain for c in cookies})


def earliest_expiry(cookies: Iterable[Cookie]) -> datetime | None:
    """When the first of the cookies that have an expiry runs out; None: session cookies only."""
    ends = [c.expires for c in cookies if c.expires is not None]
    return datetime.fromtimestamp(min(ends), UTC) if ends else None


def to_records(cookies: Iterable[Cookie]) -> list[dict[str, Any]]:
    """The cookies as plain data (for sealing and storing)."""
    return [
        {
            "domain": c.domain,
            "host_only": not c.domain_specified,
            "path": c.path,
            "secure": c.secure,
            "expires": c.expires,
            "name": c.name,
            "value": c.value,
            "http_only": c.has_nonstandard_attr(HTTP_ONLY),
        }
        for c in cookies
    ]


def from_records(records: Iterable[Mapping[str, Any]]) -> list[Cookie]:
    """The cookies :func:`to_records` wrote."""
    made = []
    for r in records:
        domain = str(r["domain"])
        expires = r.get("expires")
        made.append(
            Cookie(
                version=0,
                name=str(r["name"]),
                value=None if r.get("value") is None else str(r["value"]),
                port=None,
                port_specified=False,
                domain=domain,
                domain_specified=not r.get("host_only", False),
                domain_initial_dot=domain.startswith("."),
                path=str(r.get("path") or "/"),
                path_specified=False,
                secure=bool(r.get("secure")),
                expires=None if expires is None else int(expires),
                discard=expires is None,
                comment=None,
                comment_url=None,
                rest={HTTP_ONLY: ""} if r.get("http_only") else {},
            )
        )
    return made


@dataclass(frozen=True, slots=True, repr=False)
class SiteCookies:
    """An owner's uploaded cookies, as the engines use them for one job."""

    cookies: tuple[Cookie, ...]

    def __repr__(self) -> str:
        return f"SiteCookies({len(self.cookies)} cookies for {', '.join(self.domains)})"

    def __bool__(self) -> bool:
        return bool(self.cookies)

    @property
    def domains(self) -> list[str]:
        return domains_of(self.cookies)

    def for_site(self, url: str) -> list[Cookie]:
        """The cookies whose domain matches the host of ``url`` (path, scheme and expiry
        aside: the client that sends them checks those on each request it makes)."""
        request = _request(url)
        if request is None:
            return []
        policy = _policy()
        return [
            c
            for c in self.cookies
            if policy.domain_return_ok(c.domain, request) and policy.return_ok_domain(c, request)
        ]

    def header(self, url: str) -> str | None:
        """The ``Cookie`` header a request of ``url`` carries (domain, path, ``Secure`` and
        expiry checked); None when no cookie goes there."""
        request = _request(url)
        if request is None:
            return None
        jar = CookieJar(policy=_policy())
        for cookie in self.for_site(url):
            jar.set_cookie(cookie)
        jar.add_cookie_header(request)
        return request.get_header("Cookie")

    def site_of(self, url: str) -> str | None:
        """The host of ``url`` when some of these cookies are for it."""
        return urlsplit(url).hostname if self.for_site(url) else None


def _request(url: str) -> urllib.request.Request | None:
    try:
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            return None
        return urllib.request.Request(url)  # noqa: S310 (http(s) only; nothing is opened)
    except ValueError:
        return None


def merged(sets: Iterable[Iterable[Cookie]]) -> SiteCookies:
    """One owner's sets together; of two cookies with the same site, path and name the one
    uploaded later wins (sets come oldest first)."""
    found: dict[tuple[str, str, str], Cookie] = {}
    for cookies in sets:
        for cookie in cookies:
            found[(cookie.domain, cookie.path, cookie.name)] = cookie
    return SiteCookies(tuple(found.values()))
