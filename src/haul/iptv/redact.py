"""Keeping a provider's credentials out of messages and logs.

The Xtream Codes API carries the username and password in the query string of every API
call and in the path of every stream URL (``/movie/USER/PASS/ID.EXT``). httpx logs each
request's URL at INFO level, and its exceptions carry the URL, so both are scrubbed here:
:func:`redact_url` by the shape of such URLs (no need to know the secret), :func:`redact` by
the secrets themselves, and :class:`RedactCredentials` does the former for log records.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"

_QUERY = re.compile(r"(?i)([?&](?:username|password|user|pass)=)[^&#\s\"'<>]*")
_PATH = re.compile(r"(?i)(/(?:movie|series|live|timeshift)/)[^/\s?#\"'<>]+/[^/\s?#\"'<>]+/")
_USERINFO = re.compile(r"(?i)(\bhttps?://)[^/\s@\"'<>]+@")
#: Shorter secrets are left alone: masking every "ab" of a message would ruin it, and
#: haul's own messages never contain a URL with credentials in the first place.
MIN_SECRET = 3


def redact_url(text: str) -> str:
    """``text`` with the credentials of every Xtream-shaped URL in it masked."""
    text = _QUERY.sub(rf"\g<1>{MASK}", text)
    text = _PATH.sub(rf"\g<1>{MASK}/{MASK}/", text)
    return _USERINFO.sub(rf"\g<1>{MASK}@", text)


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with Xtream-shaped URLs scrubbed and each secret (plain or URL-encoded)
    masked."""
    text = redact_url(text)
    for secret in secrets:
        if not secret or len(secret) < MIN_SECRET:
            continue
        for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
            text = text.replace(form, MASK)
    return text


class RedactCredentials(logging.Filter):
    """Rewrites a log record whose message holds an Xtream-shaped URL, masking the
    credentials (httpx logs ``HTTP Request: GET <url> ...`` for every request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        cleaned = redact_url(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


_FILTER = RedactCredentials()
#: Libraries that log request URLs.
LOGGERS = ("httpx", "aiohttp.client")


def install_log_filter() -> None:
    """Attach the filter to the loggers of the HTTP libraries (idempotent)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
