"""yt-dlp's errors translated into haul's exception tree.

yt-dlp reports almost every failure as a ``DownloadError`` whose ``exc_info`` (and the
``cause`` / ``__cause__`` chain below it) holds what really happened. :func:`translate` walks
that chain once and classifies the first telling error:

=================================================  ==========================================
found in the chain                                 haul error (``code``)
=================================================  ==========================================
``UnsupportedError``                               :class:`UnsupportedSource` (``unsupported_url``)
"Requested format is not available"                permanent (``format_unavailable``)
a sign-in wanted (:func:`sign_in_error`)           permanent (``sign_in_required``)
a failure of the proxy (``ProxyError``, 407)        the proxy's (``proxy_failed``), named
``HTTPError`` 401, 403, 404, 410                   permanent (``http_401`` ...)
``HTTPError`` 429, 5xx                             transient (``http_429``, ``http_503`` ...)
``HTTPError`` other                                permanent (``http_<status>``)
``ContentTooShortError``                           :class:`LengthMismatch` (``length_mismatch``)
``OSError`` ENOSPC / EDQUOT, or their words        :class:`DiskFull` (``disk_full``): waits
``TransportError`` / ``OSError``, timed out        transient (``timeout``)
``TransportError`` / ``OSError``, name unresolved  transient (``dns``)
``TransportError`` / ``OSError``, other            transient (``connection``): said as
                                                   "Could not connect to host:port (why)."
                                                   when urllib3 says why
no error below, only text (:func:`from_message`)   ``HTTP Error N``, timeouts, resets: as above
anything else                                      permanent (``extractor_error``)
=================================================  ==========================================

yt-dlp wraps a connection the address guard refused like any unreachable host (a
``TransportError``, ``connection``); the guard's scope around the call records the refusal and
raises :class:`~haul.errors.AddressRefused` (permanent, ``forbidden_address``) in its place
(:func:`haul.net.guard.watch`), so the reason survives whatever yt-dlp made of it.

A site that wants a sign-in ("Sign in to confirm you're not a bot", "login required", "the
cookies are no longer valid", a 401 or 403 to a request that carried cookies) is told in
terms of haul's site cookies: upload some for the site, or, when cookies for it were sent
(``cookies_of``), that they may have expired and fresh ones are needed.
"""

from __future__ import annotations

import errno
import re
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

from yt_dlp.networking.exceptions import HTTPError, ProxyError, TransportError
from yt_dlp.utils import ContentTooShortError, UnsupportedError

from haul.engine.http_errors import (
    answer_error,
    cookies_expired,
    proxy_answer,
    proxy_detail,
    proxy_failed,
    with_cookies_hint,
)
from haul.errors import (
    DiskFull,
    LengthMismatch,
    PermanentTransferError,
    TransferError,
    TransientTransferError,
    UnsupportedSource,
)

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_PREFIX = re.compile(r"^(?:ERROR:\s*)+(?:\[[\w:.-]+\]\s*(?:[^\s:]+:\s)?)?")


def clean_message(text: str) -> str:
    """yt-dlp's message without colour codes, the ``ERROR:`` prefix and the extractor tag."""
    text = _ANSI.sub("", text).strip()
    text = _PREFIX.sub("", text)
    return text.splitlines()[0].strip() if text else text


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every error below it (``exc_info``, ``cause``, ``__cause__``, context)."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        current = todo.pop(0)
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        exc_info = getattr(current, "exc_info", None)
        if isinstance(exc_info, tuple) and len(exc_info) == 3:
            todo.append(exc_info[1])
        for attr in ("cause", "__cause__", "__context__"):
            below = getattr(current, attr, None)
            todo.append(below)


def translate(
    exc: BaseException,
    url: str,
    *,
    cookies_of: str | None = None,
    format_asked: str | None = None,
    proxy: str | None = None,
) -> TransferError:
    """The haul error that says what went wrong with ``url``; the caller raises it from exc.
    ``cookies_of``: the site whose uploaded cookies went with the requests, if any;
    ``format_asked``: the format selector yt-dlp was given, if any; ``proxy``: the proxy the
    requests went through, if any (a failure of the proxy is said as one)."""
    chain = list(causes(exc))
    for error in chain:
        if isinstance(error, UnsupportedError):
            return UnsupportedSource(f"haul found no video or audio it can download at {url}.")
    if proxy is not None and (failed := proxy_failure(chain, proxy)) is not None:
        return failed
    said = clean_message(str(exc))
    if _NO_SUCH_FORMAT.search(said):
        return format_unavailable(url, format_asked)
    if _SIGN_IN.search(said):
        return sign_in_error(said, url, cookies_of)
    for error in chain:
        if isinstance(error, HTTPError):
            response = error.response
            where = getattr(response, "url", None) or url
            headers = response.headers if response is not None else {}
            found = answer_error(error.status, getattr(response, "reason", None), where, headers)
            return with_cookies_hint(found, cookies_of)
    for error in chain:
        if isinstance(error, ContentTooShortError):
            return LengthMismatch(
                f"The server sent {error.downloaded} of {error.expected} bytes for {url}."
            )
    for error in chain:
        if isinstance(error, OSError) and error.errno in _DISK_FULL:
            return DiskFull(f"Could not write the download of {url}: {error.strerror}.")
    for error in chain:
        if isinstance(error, TransportError | OSError) and not isinstance(error, FileNotFoundError):
            return network_error(error, url, chain)
    message = clean_message(str(exc)) or type(exc).__name__
    return from_message(message, url) or PermanentTransferError(message, code="extractor_error")


_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)

#: How a proxy's refusal to open a tunnel to the site reads (urllib, requests).
_TUNNEL = re.compile(r"tunnel connection failed: (\d{3})", re.IGNORECASE)


def proxy_failure(chain: list[BaseException], proxy: str) -> TransferError | None:
    """The haul error for a failure of the ``proxy`` a request of yt-dlp went through (it
    cannot be reached, refused the tunnel, asks for a login); None when the proxy is not
    what failed. Said in haul's words: what the libraries say may hold the proxy's
    credentials."""
    for error in chain:
        if isinstance(error, HTTPError) and error.status == 407:
            return proxy_answer(proxy, 407, None)
    if not any(isinstance(error, ProxyError) for error in chain):
        return None
    said = " ".join(str(error) for error in chain)
    tunnel = _TUNNEL.search(said)
    if tunnel is not None:
        return proxy_answer(proxy, int(tunnel.group(1)), None)
    return proxy_failed(proxy, proxy_detail(said))


#: How yt-dlp's extractors say that a site wants a signed-in visitor.
_SIGN_IN = re.compile(
    r"sign in to (?:confirm|view|watch)|log ?in required|login is required"
    r"|requires? (?:a )?(?:login|sign[- ]?in|authentication|an account)"
    r"|cookies (?:are|is) no longer valid|only available (?:for|to) registered users"
    r"|use --cookies|confirm your age|not a bot",
    re.IGNORECASE,
)
#: How yt-dlp says that none of a page's formats matches the selector it was given.
_NO_SUCH_FORMAT = re.compile(r"requested format (?:is )?not available", re.IGNORECASE)
#: The part of yt-dlp's message that tells its own command line's options.
_OPTIONS_HINT = re.compile(r"[.\s]*(?:Use --|See\s+https?://).*$", re.IGNORECASE | re.DOTALL)


def sign_in_error(message: str, url: str, cookies_of: str | None) -> PermanentTransferError:
    """The site of ``url`` wants a sign-in (``message`` is yt-dlp's saying so)."""
    said = _OPTIONS_HINT.sub("", message).strip() or "it wants a sign-in"
    host = urlsplit(url).hostname or url
    if cookies_of:
        advice = cookies_expired(cookies_of)
    else:
        advice = (
            f"Upload your cookies for {host} (a cookies.txt exported from a browser signed in "
            "there) and retry."
        )
    return PermanentTransferError(
        f"{host} asks for a sign-in: {said}. {advice}", code="sign_in_required"
    )


def format_unavailable(url: str, format_asked: str | None) -> PermanentTransferError:
    """The page at ``url`` offers no format matching ``format_asked`` (no retry helps)."""
    which = f"The format {format_asked!r}" if format_asked else "The format asked for"
    return PermanentTransferError(
        f"{which} is not offered by this page: `haul formats {url}` (or List formats on the "
        "add page) shows what is.",
        code="format_unavailable",
    )


# yt-dlp's downloaders report an error they gave up retrying as text only ("Got error: ...
# Giving up after 1 retries"), with no exception below it: read the text, first match wins.
_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = (
    # ffmpeg (merging, converting) and yt-dlp's writers say so in words only.
    (re.compile(r"No space left on device|Disk quota exceeded|Errno 28\b"), "disk"),
    (re.compile(r"HTTP Error (\d{3})"), "http"),
    (re.compile(r"timed? ?out", re.IGNORECASE), "timeout"),
    (
        re.compile(
            r"Errno (?:32|54|60|61|104|110|111|113)\b|connection (?:reset|refused|aborted)"
            r"|broken pipe|remote end closed|IncompleteRead|bytes read|EOF occurred"
            r"|name resolution|Name or service not known|nodename nor servname",
            re.IGNORECASE,
        ),
        "connection",
    ),
)


def from_message(message: str, url: str) -> TransferError | None:
    """Classify a failure known only by its text; None when the text says nothing telling."""
    for pattern, kind in _MESSAGES:
        match = pattern.search(message)
        if match is None:
            continue
        if kind == "http":
            return answer_error(int(match.group(1)), None, url, {})
        if kind == "disk":
            return DiskFull(f"Could not write the download of {url}: {message}")
        if kind == "timeout":
            return TransientTransferError(
                f"The server at {url} did not answer in time.", code="timeout"
            )
        return TransientTransferError(f"The connection to {url} failed: {message}", code=kind)
    return None


def network_error(
    error: BaseException, url: str, chain: list[BaseException] | None = None
) -> TransientTransferError:
    """A timeout or a broken connection while talking to ``url``."""
    chain = chain or [error]
    timed_out = any(isinstance(e, TimeoutError | socket.timeout) for e in chain) or any(
        "timed out" in str(e).lower() for e in chain
    )
    if timed_out:
        return TransientTransferError(
            f"The server at {url} did not answer in time.", code="timeout"
        )
    said = " ".join(str(e) for e in chain)
    if _UNRESOLVED.search(said):
        host = urlsplit(url).hostname or url
        return TransientTransferError(f"Could not resolve the host name {host}.", code="dns")
    why = _why_not_connected(said, chain)
    if why is not None:
        return TransientTransferError(
            f"Could not connect to {_address(url)} ({why}).", code="connection"
        )
    detail = clean_message(str(error)) or type(error).__name__
    return TransientTransferError(f"The connection to {url} failed: {detail}", code="connection")


#: How urllib3 says it could not open a connection (after yt-dlp wrapped it in a text).
_NOT_CONNECTED = re.compile(
    r"Failed to establish a new connection: (?:\[Errno -?\d+\] )?([^\"')(]+)"
)
_UNRESOLVED = re.compile(
    r"Name or service not known|nodename nor servname|getaddrinfo failed"
    r"|Temporary failure in name resolution|No address associated with hostname",
    re.IGNORECASE,
)


def _why_not_connected(said: str, chain: list[BaseException]) -> str | None:
    """Why no connection could be opened ("connection refused"); None when it was opened."""
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "connection refused"
    failed = _NOT_CONNECTED.search(said)
    return None if failed is None else failed.group(1).strip().rstrip(".").lower()


def _address(url: str) -> str:
    """``host:port`` of ``url`` (the scheme's port when it names none)."""
    parts = urlsplit(url)
    host = parts.hostname or url
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    port = port or {"http": 80, "https": 443}.get(parts.scheme)
    return f"{host}:{port}" if port else host
