"""HTTP failures translated into haul's exception tree (pure: no network).

=================================================  ==========================================
what happened                                      haul error (``code``)
=================================================  ==========================================
an answer of 429 or 5xx                            transient (``http_<status>``), Retry-After
other 4xx                                          permanent (``http_<status>``)
timed out connecting / waiting for bytes           transient (``timeout``)
the host name does not resolve                     transient (``dns``)
connection refused, TLS failed                     transient (``connection``)
connection cut during the answer (reset, closed    transient (``connection``), said in
before the announced length, not valid HTTP)        words (:func:`transport_error`)
not an http(s) URL, malformed URL                  permanent (``invalid_url``)
too many redirects                                 permanent (``too_many_redirects``)
the disk is full                                   :class:`DiskFull` (``disk_full``)
any other local write error                        permanent (``local_io``)
=================================================  ==========================================

A connection to a forbidden address (the host's, or a redirect's) is not one of these: the
address guard refuses it first and the request fails with :class:`~haul.errors.AddressRefused`
(permanent, ``forbidden_address``; see :mod:`haul.net.guard`).

The engine's transfers run on aiohttp (:func:`transport_error`); :func:`status_error` and
:func:`network_error` speak httpx for the code that still does.
"""

from __future__ import annotations

import email.utils
import errno
import http
import re
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import aiohttp.http_exceptions
import httpx

from haul.core.units import duration_text
from haul.errors import DiskFull, PermanentTransferError, TransferError, TransientTransferError


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def cookies_expired(site: str) -> str:
    """What to do when a site refuses a request that carried the owner's cookies for it."""
    return f"The cookies for {site} may have expired: upload fresh ones and retry."


def with_cookies_hint(error: TransferError, site: str | None) -> TransferError:
    """``error`` with :func:`cookies_expired` said, when it is a 401 or 403 of a request that
    carried cookies for ``site``; else ``error`` itself."""
    if site is None or error.code not in ("http_401", "http_403"):
        return error
    return PermanentTransferError(f"{error.message} {cookies_expired(site)}", code=error.code)


def answer_error(
    status: int, reason: str | None, url: str, headers: Mapping[str, str]
) -> TransferError:
    """The haul error for an HTTP error answer: 5xx and 429 may pass, other 4xx will not."""
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = reason or "Error"
    said = f"The server answered {status} {reason} for {url}"
    code = f"http_{status}"
    if status == 429:
        wait = parse_retry_after(headers.get("retry-after"))
        hint = f"; it asks to wait {duration_text(round(wait))}" if wait is not None else ""
        return TransientTransferError(f"{said}{hint}.", code=code, retry_after=wait)
    if status >= 500:
        wait = parse_retry_after(headers.get("retry-after"))
        return TransientTransferError(f"{said}; it may work later.", code=code, retry_after=wait)
    return PermanentTransferError(f"{said}.", code=code)


def status_error(response: httpx.Response) -> TransferError:
    """:func:`answer_error` for an httpx response."""
    return answer_error(
        response.status_code, response.reason_phrase, str(response.request.url), response.headers
    )


def transport_error(exc: aiohttp.ClientError | TimeoutError, url: str) -> TransferError:
    """The haul error for an aiohttp failure before or during the body."""
    host = urlsplit(url).hostname or url
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return _timeout("connect to", host)
    if isinstance(exc, TimeoutError):  # aiohttp's read timeouts are TimeoutErrors too
        return _timeout("hear from", host)
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return _unresolved(host)
    if isinstance(exc, aiohttp.NonHttpUrlClientError):
        return _invalid(url, "only http and https URLs are supported")
    if isinstance(exc, aiohttp.InvalidURL):
        return _invalid(url, "that is not a valid URL")
    if isinstance(exc, aiohttp.TooManyRedirects):
        return PermanentTransferError(f"{url} redirects too often.", code="too_many_redirects")
    if isinstance(exc, aiohttp.ClientConnectorError):
        detail = exc.os_error.strerror or str(exc.os_error) or type(exc.os_error).__name__
        return _unreachable(host, detail)
    return _broken(host, _cut_reason(exc))


def proxy_where(proxy: str) -> str:
    """A proxy as an error names it: its host and port, never its user name or password."""
    parts = urlsplit(proxy)
    host = parts.hostname or "?"
    host = f"[{host}]" if ":" in host else host
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}:{port}" if port is not None else host


def proxy_failed(proxy: str, detail: str, *, transient: bool = True) -> TransferError:
    """A download that failed because the proxy of its profile could not be used: it names
    the proxy (not its credentials) and says where to change it."""
    said = (
        f"Could not use the proxy {proxy_where(proxy)}: {detail}. Check the proxy of the "
        "download's profile."
    )
    kind = TransientTransferError if transient else PermanentTransferError
    return kind(said, code="proxy_failed")


def proxy_answer(proxy: str, status: int, reason: str | None) -> TransferError:
    """The proxy answered ``status`` instead of opening the way to the site."""
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = reason or "Error"
    detail = f"it answered {status} {reason}"
    if status == 407:
        detail += " (its user name or password is missing or wrong)"
    return proxy_failed(proxy, detail, transient=status == 429 or status >= 500)


#: What a failure to use a proxy was, in the words of the libraries that report it.
_PROXY_DETAILS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"name or service not known|nodename nor servname|name resolution|getaddrinfo",
            re.IGNORECASE,
        ),
        "its host name does not resolve",
    ),
    (re.compile(r"connection ?refused|errno 111\b", re.IGNORECASE), "it refused the connection"),
    (re.compile(r"timed? ?out", re.IGNORECASE), "it did not answer in time"),
    (
        re.compile(r"ssl|tls|wrong version number|certificate", re.IGNORECASE),
        "the secure connection to it failed (is it an http:// proxy rather than https://?)",
    ),
)


def proxy_detail(said: str) -> str:
    """Why a proxy could not be used, from what a library said of it (``said`` may hold the
    proxy's credentials: only haul's words are kept)."""
    for pattern, detail in _PROXY_DETAILS:
        if pattern.search(said):
            return detail
    return "the connection to it failed"


def proxy_transport_error(
    exc: aiohttp.ClientError | TimeoutError, proxy: str, url: str
) -> TransferError | None:
    """The haul error for an aiohttp failure of a request for ``url`` sent through ``proxy``,
    before any answer of the site, when the proxy is what failed (it cannot be reached,
    refused to connect, is no HTTP proxy); None when the failure is the site's."""
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        return proxy_answer(proxy, exc.status, exc.message)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):  # the connection is the proxy's
        return proxy_failed(proxy, "it did not answer in time")
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return proxy_failed(proxy, "its host name does not resolve")
    if isinstance(exc, aiohttp.ClientConnectorError):  # ClientProxyConnectionError, TLS
        os_error = exc.os_error
        if isinstance(os_error, ConnectionRefusedError):
            return proxy_failed(proxy, "it refused the connection")
        return proxy_failed(proxy, proxy_detail(f"{type(os_error).__name__}: {os_error}"))
    if isinstance(exc, aiohttp.InvalidURL) and str(exc.url) != url:
        return proxy_failed(proxy, "its address cannot be used", transient=False)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return proxy_failed(proxy, "it closed the connection without an answer")
    if isinstance(exc, aiohttp.ClientResponseError) and not isinstance(
        exc, aiohttp.ClientPayloadError
    ):
        return proxy_failed(proxy, "its answer is not valid HTTP", transient=False)
    return None


#: How aiohttp counts what arrived of a body that ended early.
_RECEIVED = re.compile(r"received (\d+) of (\d+) bytes")


def _cut_reason(exc: aiohttp.ClientError) -> str:
    """What cut a connection during an answer, said without aiohttp's own words: its
    representations (``<ContentLengthError: 400, message=...>``) read as if the server had
    answered 400, where the 400 is only aiohttp's parser code."""
    if _caused_by(exc, ConnectionResetError) or isinstance(exc, aiohttp.ClientConnectionResetError):
        return "the connection was reset"
    if isinstance(exc, aiohttp.ClientPayloadError):
        # A reset and a server that closes early (or lied about the length) look alike here.
        if _caused_by(exc, aiohttp.http_exceptions.ContentLengthError):
            counts = _RECEIVED.search(str(exc))
            if counts is not None:
                got, announced = int(counts[1]), int(counts[2])
                return f"the connection ended after {got} of the {announced} bytes announced"
            return "the connection ended before all the bytes announced arrived"
        if _caused_by(exc, aiohttp.http_exceptions.TransferEncodingError):
            return "the server closed the connection in the middle of a chunk"
        return "the body of the answer arrived damaged or incomplete"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection"
    if isinstance(exc, aiohttp.ClientOSError):
        return exc.strerror or "the connection failed"
    if isinstance(exc, aiohttp.ClientResponseError):
        return "the server's answer is not valid HTTP"
    return "the connection failed"


def network_error(exc: httpx.HTTPError | httpx.InvalidURL, url: str) -> TransferError:
    """The haul error for an httpx failure before or during the body."""
    host = urlsplit(url).hostname or url
    if isinstance(exc, httpx.TimeoutException):
        return _timeout(
            "connect to" if isinstance(exc, httpx.ConnectTimeout) else "hear from", host
        )
    if isinstance(exc, httpx.ConnectError) and _caused_by(exc, socket.gaierror):
        return _unresolved(host)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return _invalid(url, str(exc))
    if isinstance(exc, httpx.TooManyRedirects):
        return PermanentTransferError(f"{url} redirects too often.", code="too_many_redirects")
    if isinstance(exc, httpx.ConnectError):
        return _unreachable(host, str(exc))
    return _broken(host, str(exc) or type(exc).__name__)


def proxy_network_error(exc: httpx.HTTPError, proxy: str) -> TransferError | None:
    """:func:`proxy_transport_error` for an httpx failure of a request sent through
    ``proxy``."""
    if isinstance(exc, httpx.ProxyError):  # the proxy refused the tunnel (CONNECT)
        status = re.search(r"\b([1-5]\d\d)\b", str(exc))
        if status is not None:
            return proxy_answer(proxy, int(status.group(1)), None)
        return proxy_failed(proxy, proxy_detail(str(exc)))
    if isinstance(exc, httpx.ConnectTimeout):
        return proxy_failed(proxy, "it did not answer in time")
    if isinstance(exc, httpx.ConnectError):
        if _caused_by(exc, ConnectionRefusedError):
            return proxy_failed(proxy, "it refused the connection")
        return proxy_failed(proxy, proxy_detail(f"{exc} {exc.__cause__ or ''}"))
    return None


def disk_error(exc: OSError, path: Path, needed: int | None = None) -> TransferError:
    """The haul error for a failed local write of ``path`` (``needed``: the bytes still to
    write, when known, for a full disk)."""
    said = f"Could not write {path.name}: {exc.strerror or exc}."
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFull(said, needed=needed)
    return PermanentTransferError(said, code="local_io")


def _timeout(what: str, host: str) -> TransferError:
    return TransientTransferError(f"Timed out trying to {what} {host}.", code="timeout")


def _invalid(url: str, detail: str) -> TransferError:
    return PermanentTransferError(f"Cannot download {url}: {detail}.", code="invalid_url")


def _unresolved(host: str) -> TransferError:
    return TransientTransferError(f"Could not resolve the host name {host}.", code="dns")


def _unreachable(host: str, detail: str) -> TransferError:
    return TransientTransferError(f"Could not connect to {host}: {detail}.", code="connection")


def _broken(host: str, detail: str) -> TransferError:
    return TransientTransferError(
        f"The download from {host} broke off: {detail}.", code="connection"
    )


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
