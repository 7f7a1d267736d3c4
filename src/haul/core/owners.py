"""Who owns a download, told from its owner key (pure).

Keys: ``local`` (the single user of a loopback instance), ``user:<id>`` (an account) and
``session:<uuid>`` (an anonymous browser session of a public instance).
"""

from __future__ import annotations

ANONYMOUS_PREFIX = "session:"


def is_anonymous(owner_key: str) -> bool:
    """Whether the key names an anonymous browser session rather than a person's account."""
    return owner_key.startswith(ANONYMOUS_PREFIX)
