"""A profile's proxy (pure): which ones haul takes, and how one is shown without its secret.

A proxy is an ``http://`` or ``https://`` URL (``http://user:password@proxy.lan:3128``):
yt-dlp and the direct-file engine both speak to it. SOCKS proxies are refused: the direct-file
engine cannot use them, and a profile's downloads must not leave by two different ways. The
user name and password in a proxy URL are a secret: the API shows the URL with them masked
(:func:`shown`) and takes that masked form back as "unchanged" (:func:`is_shown_form`).
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from haul.core.sites import ascii_host

SCHEMES = ("http", "https")
MASK = "***"
EXAMPLE = "http://proxy.lan:3128"
_CONTROL = re.compile(r"[\x00-\x20\x7f]")


def check_proxy(value: object) -> str | None:
    """A clean proxy URL (None: no proxy); ValueError with a sentence when it is no proxy
    haul can use."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"proxy must be a URL such as {EXAMPLE}.")
    text = value.strip()
    if not text:
        return None
    if len(text) > 1000 or _CONTROL.search(text):
        raise ValueError("proxy must be a URL of at most 1000 characters, without spaces.")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValueError(f"proxy must be a URL such as {EXAMPLE} (its port is wrong).") from None
    scheme = parts.scheme.lower()
    if scheme.startswith("socks"):
        raise ValueError(
            "SOCKS proxies are not supported: haul's direct-file engine speaks to HTTP and "
            f"HTTPS proxies only; give an http:// or https:// proxy such as {EXAMPLE}."
        )
    if scheme not in SCHEMES:
        raise ValueError(f"proxy must be an http:// or https:// URL such as {EXAMPLE}.")
    if not parts.hostname or ascii_host(parts.hostname) is None:
        raise ValueError(f"proxy must name a host, such as {EXAMPLE}.")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"proxy is a host and a port, such as {EXAMPLE}, without a path.")
    if port is None:
        raise ValueError(f"proxy must give its port, such as {EXAMPLE}.")
    netloc = parts.netloc.rsplit("@", 1)[-1]
    auth = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return f"{scheme}://{auth}{netloc}"


def credentials(proxy: str) -> tuple[str, str] | None:
    """The user name and password in a proxy URL (decoded), or None."""
    parts = urlsplit(proxy)
    if parts.username is None:
        return None
    return unquote(parts.username), unquote(parts.password or "")


def without_credentials(proxy: str) -> str:
    """The proxy URL without its user name and password."""
    parts = urlsplit(proxy)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


def shown(proxy: str | None) -> str | None:
    """The proxy as the API shows it: its credentials masked
    (``http://***@proxy.lan:3128``)."""
    if proxy is None:
        return None
    parts = urlsplit(proxy)
    if "@" not in parts.netloc:
        return proxy
    return f"{parts.scheme}://{MASK}@{parts.netloc.rsplit('@', 1)[-1]}"


def is_shown_form(given: object, stored: str | None) -> bool:
    """Whether ``given`` is the masked form of ``stored`` (a form sent back unchanged)."""
    return (
        stored is not None
        and isinstance(given, str)
        and MASK in given
        and given.strip() == shown(stored)
    )


def scrub(text: str, proxy: str | None) -> str:
    """``text`` (an error message) without the proxy's user name and password in it."""
    if not proxy:
        return text
    parts = urlsplit(proxy)
    if "@" not in parts.netloc:
        return text
    userinfo = parts.netloc.rsplit("@", 1)[0]
    text = text.replace(userinfo + "@", MASK + "@")
    login = credentials(proxy)
    if login is not None:
        for secret in (login[1], parts.password or ""):
            if len(secret) >= 3:
                text = text.replace(secret, MASK)
    return text
