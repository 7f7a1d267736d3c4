"""Signed, expiring links to one finished file (pure).

A token names one file of one download until a moment, and proves that this server made it::

    token   = base64url(payload + tag), without "=" padding (71 characters)
    payload = version (1 byte, 1) | download id (8 bytes) | file index (4 bytes)
              | expiry (8 bytes, whole seconds since the Unix epoch), big-endian
    tag     = HMAC-SHA256(key, "haul-file-link\\0" + payload + born)

``born`` is the download's creation time in microseconds (8 bytes). It is not in the token:
the server reads it from the download's row. So a link to a download that was removed never
opens a later download that happens to get the same id (SQLite hands out the highest id
again after it was deleted). Expiry is checked only once the tag is known good, so the date
an expired link names is one this server signed.

A link that is malformed, forged, changed, or made for a download that was deleted since gets
one answer (:data:`NOT_VALID`): someone without a genuine link cannot tell which ids exist.
Only a genuine link learns that it expired.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from haul.errors import ExpiredLink, InvalidLink

VERSION = 1
DEFAULT_EXPIRES_IN = 24 * 3600
MAX_EXPIRES_IN = 30 * 24 * 3600
KEY_BYTES = 32

_PAYLOAD = struct.Struct(">BQIQ")
_TAG_BYTES = hashlib.sha256().digest_size
_DOMAIN = b"haul-file-link\0"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NOT_VALID = (
    "This link does not lead to a file: it is incomplete or was changed, or the download it "
    "was made for has been deleted. Ask for a new link."
)


@dataclass(frozen=True, slots=True)
class Claim:
    """What a token says: file ``index`` of download ``download_id`` until ``expires_at``."""

    download_id: int
    index: int
    expires_at: int  # seconds since the Unix epoch

    @property
    def expires(self) -> datetime:
        return datetime.fromtimestamp(self.expires_at, UTC)


def born_of(created_at: datetime) -> int:
    """A download's creation time as whole microseconds since the epoch (exact, no float)."""
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)
    return (created_at - _EPOCH) // timedelta(microseconds=1)


def _tag(key: bytes, payload: bytes, born: int) -> bytes:
    return hmac.new(key, _DOMAIN + payload + struct.pack(">q", born), hashlib.sha256).digest()


def sign(key: bytes, claim: Claim, *, born: int) -> str:
    """The token of ``claim`` for the download created at ``born`` (see :func:`born_of`)."""
    payload = _PAYLOAD.pack(VERSION, claim.download_id, claim.index, claim.expires_at)
    raw = payload + _tag(key, payload, born)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def read(token: str) -> Claim:
    """What ``token`` claims, not yet verified; a token that cannot be one raises
    :class:`~haul.errors.InvalidLink`."""
    malformed = InvalidLink(NOT_VALID)
    if not token or len(token) > 200 or not token.isascii():
        raise malformed
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise malformed from None
    if len(raw) != _PAYLOAD.size + _TAG_BYTES or raw[0] != VERSION:
        raise malformed
    _version, download_id, index, expires_at = _PAYLOAD.unpack(raw[: _PAYLOAD.size])
    return Claim(download_id, index, expires_at)


def verify(key: bytes, token: str, *, born: int, now: float) -> Claim:
    """The claim of ``token`` once its tag is this key's for a download created at ``born``
    and it has not expired at ``now`` (seconds since the epoch). Raises
    :class:`~haul.errors.InvalidLink` (forged, changed, or for another download) or
    :class:`~haul.errors.ExpiredLink`."""
    claim = read(token)
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    payload, tag = raw[: _PAYLOAD.size], raw[_PAYLOAD.size :]
    if not hmac.compare_digest(tag, _tag(key, payload, born)):
        raise InvalidLink(NOT_VALID)
    if now >= claim.expires_at:
        raise ExpiredLink(
            f"This link expired on {claim.expires:%Y-%m-%d %H:%M} UTC. Ask for a new link.",
            expired_at=claim.expires,
        )
    return claim


def expiry(now: float, expires_in: float) -> int:
    """The expiry (whole seconds since the epoch) of a link made at ``now`` for
    ``expires_in`` seconds, rounded up so it never lasts less than asked."""
    return int(-(-(now + expires_in) // 1))
