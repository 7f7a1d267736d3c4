"""Webhook headers and their HMAC-SHA256 signature (pure).

Every webhook request carries:

- ``X-Haul-Event``: the event kind (``completed``, ``failed``, ``imported`` or ``test``);
- ``X-Haul-Delivery``: a UUID naming this delivery; retries of it repeat it, so a receiver
  can drop a delivery it has already handled;
- ``X-Haul-Timestamp``: when this attempt was sent, in whole seconds since the Unix epoch;
- ``X-Haul-Signature`` (only when the target has a secret): ``sha256=`` followed by the
  lower-case hex HMAC-SHA256, keyed with the secret's UTF-8 bytes, of the message

      <X-Haul-Timestamp value as ASCII> + "." + <the raw request body bytes>

To verify, a receiver recomputes that HMAC over the body exactly as received (before any
JSON parsing), compares it in constant time with the header, and refuses a timestamp too far
from its own clock (five minutes is usual) so that a recorded request cannot be replayed.
:func:`verify` does all three.
"""

from __future__ import annotations

import hashlib
import hmac
import time

EVENT_HEADER = "X-Haul-Event"
DELIVERY_HEADER = "X-Haul-Delivery"
TIMESTAMP_HEADER = "X-Haul-Timestamp"
SIGNATURE_HEADER = "X-Haul-Signature"
SCHEME = "sha256="
DEFAULT_TOLERANCE = 300.0


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``X-Haul-Signature`` value for ``body`` sent at ``timestamp``."""
    message = str(timestamp).encode("ascii") + b"." + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return SCHEME + digest


def headers(
    kind: str, delivery: str, body: bytes, *, secret: str | None, timestamp: int
) -> dict[str, str]:
    """The headers of one webhook attempt (no signature without a secret)."""
    result = {
        "Content-Type": "application/json",
        EVENT_HEADER: kind,
        DELIVERY_HEADER: delivery,
        TIMESTAMP_HEADER: str(timestamp),
    }
    if secret:
        result[SIGNATURE_HEADER] = signature(secret, timestamp, body)
    return result


def verify(
    secret: str,
    timestamp: str | int | None,
    body: bytes,
    header: str | None,
    *,
    tolerance: float | None = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> bool:
    """True when ``header`` is the signature of ``body`` at ``timestamp`` with ``secret``,
    and the timestamp is within ``tolerance`` seconds of ``now`` (None: any age)."""
    if not header or timestamp is None:
        return False
    stamp = str(timestamp).strip()
    try:
        sent = int(stamp)
    except ValueError:
        return False
    if tolerance is not None:
        current = time.time() if now is None else now
        if abs(current - sent) > tolerance:
            return False
    return hmac.compare_digest(signature(secret, stamp, body), header.strip())
